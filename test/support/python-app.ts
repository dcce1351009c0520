/**
 * A real, lenient app server: Python's `http.server` (BaseHTTPRequestHandler, keep-alive
 * HTTP/1.1), as many real apps are. It splits a request line on any whitespace and ignores
 * an Upgrade it does not speak, which is what makes it a fair target for walk-around tests.
 * Every request line it reads is recorded (its raw bytes, before any parsing), so a test can
 * assert what the app never saw.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from './wait-for.js';

const SCRIPT = `
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def parse_request(self):
        sys.stdout.write('LINE ' + repr(self.raw_requestline.decode('latin-1')) + '\\n')
        sys.stdout.flush()
        return super().parse_request()

    def answer(self):
        body = ('app:' + self.path).encode('latin-1', 'replace')
        length = int(self.headers.get('content-length') or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header('content-type', 'text/plain')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = answer

    def log_message(self, format, *args):
        pass

server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
sys.stdout.write('PORT %d\\n' % server.server_address[1])
sys.stdout.flush()
server.serve_forever()
`;

export interface PythonApp {
  readonly port: number;
  /** The raw request lines the app has read, in order (as Python's repr). */
  lines(): string[];
  stop(): Promise<void>;
}

export async function startPythonApp(): Promise<PythonApp> {
  const child: ChildProcess = spawn('python3', ['-u', '-c', SCRIPT], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(`python's http.server to start (${err})`, () => /PORT \d+/.test(out), 10_000);
  const port = Number(/PORT (\d+)/.exec(out)![1]);
  return {
    port,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('LINE '))
        .map((l) => l.slice(5)),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
