/** The HTTP/1.1 fast path over real sockets, against a handler that echoes what it got. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { type FastRequest, type FastResponse, serveFast } from '../../../src/proxy/http1/index.js';

async function bodyOf(req: FastRequest): Promise<string> {
  if (req.body === null) return '';
  if (Buffer.isBuffer(req.body)) return req.body.toString();
  let s = '';
  for await (const c of req.body as Readable) s += c;
  return s;
}

function raw(port: number, bytes: string, waitFor: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(got)}`));
    }, 3000);
    s.on('data', (d) => {
      got += d;
      if (waitFor.test(got)) {
        clearTimeout(t);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.write(bytes);
  });
}

describe('HTTP/1.1 fast path', () => {
  let server: net.Server;
  let port: number;
  let handedOff = 0;
  before(async () => {
    const fallback = http.createServer((req, res) => {
      res.end(`node:${req.method}:${req.headers.upgrade ?? ''}`);
    });
    server = net.createServer((socket) =>
      serveFast(
        socket,
        (req, res: FastResponse) => {
          void bodyOf(req).then((body) => {
            const text = `${req.method} ${req.url} ${req.headers.host} [${body}]`;
            if (req.url === '/chunked') {
              res.writeHead(200, { 'x-a': 'b' });
              res.write('part1,');
              res.end('part2');
            } else res.end(text);
          });
        },
        {
          handOff: (s) => {
            handedOff++;
            fallback.emit('connection', s);
          },
        },
      ),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  it('serves keep-alive requests, pipelined, in order', async () => {
    const out = await raw(
      port,
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\n\r\n',
      /GET \/c x \[\]/,
    );
    const bodies = out.match(/(GET|POST) \/\w x \[\w*\]/g);
    assert.deepEqual(bodies, ['GET /a x []', 'POST /b x [abc]', 'GET /c x []']);
  });

  it('regression: ignores empty lines before a request line (RFC 9112 §2.2), as llhttp does', async () => {
    const out = await raw(
      port,
      '\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n',
      /GET \/b x \[\]/,
    );
    assert.deepEqual(out.match(/GET \/\w x \[\]/g), ['GET /a x []', 'GET /b x []']);
  });

  it('regression: refuses a request-target with bytes above 0x7E (RFC 3986 §2), as llhttp does', async () => {
    const out = await raw(port, 'GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n\r\n/);
    assert.match(out, /^HTTP\/1\.1 400 /);
  });

  it('reads a chunked request body and writes a chunked response', async () => {
    const out = await raw(
      port,
      'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      /0\r\n\r\n$/,
    );
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(out, /transfer-encoding: chunked/);
    assert.match(out, /6\r\npart1,\r\n5\r\npart2\r\n0\r\n\r\n$/);
  });

  it('works with a real client (node http, keep-alive agent)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (const path of ['/one', '/two']) {
      const text = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { port, path, method: 'PUT', agent, headers: { host: 'svc' } },
          (res) => {
            let s = '';
            res.on('data', (d) => (s += d));
            res.on('end', () => resolve(s));
          },
        );
        req.on('error', reject);
        req.end('payload');
      });
      assert.equal(text, `PUT ${path} svc [payload]`);
    }
    agent.destroy();
  });

  it('answers 400 to both Content-Length and Transfer-Encoding, and closes', async () => {
    const out = await raw(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc',
      /\r\n\r\n.*\n/s,
    );
    assert.match(out, /^HTTP\/1\.1 400 /);
    assert.match(out, /connection: close/);
  });

  it('answers 431 to an oversized head and 400 to a malformed one', async () => {
    const big = await raw(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
      /\r\n\r\n.*\n/s,
    );
    assert.match(big, /^HTTP\/1\.1 431 /);
    const bad = await raw(
      port,
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
      /\r\n\r\n.*\n/s,
    );
    assert.match(bad, /^HTTP\/1\.1 400 /);
    const folded = await raw(
      port,
      'GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n',
      /\r\n\r\n.*\n/s,
    );
    assert.match(folded, /^HTTP\/1\.1 400 /);
  });

  it('hands Upgrade and HTTP/1.0 requests to node, bytes intact', async () => {
    const before = handedOff;
    const up = await raw(
      port,
      'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n',
      /node:/,
    );
    assert.match(up, /node:GET:websocket/);
    const old = await raw(port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n', /node:/);
    assert.match(old, /node:GET:/);
    assert.equal(handedOff, before + 2);
  });
});
