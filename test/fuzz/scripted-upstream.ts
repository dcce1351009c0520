/**
 * The upstream of the response fuzzer: a raw TCP server that answers `GET /r/<token>` with
 * the bytes scripted for that token (ending the connection as scripted) and
 * `GET /canary/<token>` with a well-formed echo. Requests on a connection are answered in
 * order, so bytes a response leaves behind meet the next request on a reused connection.
 */
import net from 'node:net';

/**
 * After the scripted bytes: go on answering requests on the connection (a truncated
 * response then stalls it), end it, or reset it.
 */
export type UpstreamEnd = 'keep' | 'close' | 'reset';

export interface ScriptedResponse {
  readonly bytes: Buffer;
  readonly end: UpstreamEnd;
}

export interface ScriptedUpstream {
  readonly port: number;
  readonly scripts: Map<string, ScriptedResponse>;
  close(): Promise<void>;
}

const REQUEST_LINE = /^[A-Z]+ (\S+) HTTP\/1\.[01]\r\n/;

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const scripts = new Map<string, ScriptedResponse>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let stopped = false;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (stopped) return;
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end + 2);
        buf = buf.subarray(end + 4);
        const target = REQUEST_LINE.exec(head)?.[1] ?? '';
        if (target.startsWith('/canary/')) {
          const body = `fz-echo GET ${target}`;
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
          continue;
        }
        const script = scripts.get(target.slice('/r/'.length));
        if (!script) {
          socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
          continue;
        }
        socket.write(script.bytes);
        if (script.end === 'keep') continue;
        if (script.end === 'close') socket.end();
        else socket.resetAndDestroy();
        stopped = true;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    scripts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
