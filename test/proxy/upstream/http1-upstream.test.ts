/**
 * Ferry's HTTP/1.1 upstream pool against real servers on 127.0.0.1: keep-alive reuse and
 * retirement, every way a response body can end, interim responses, stale keep-alive
 * connections, limits, aborts and malformed responses.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { UpstreamPools } from '../../../src/proxy/upstream/index.js';
import { OpensslCa } from '../../support/server-certs.js';
import { waitFor } from '../../support/wait-for.js';

interface Result {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders;
}

/** A DispatchHandler that collects the response, or the error. */
class Collector implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  status = 0;
  headers: IncomingHttpHeaders = {};
  chunks: Buffer[] = [];
  readonly done: Promise<Result>;
  private resolve!: (r: Result) => void;
  private reject!: (e: Error) => void;
  constructor(private readonly onChunk?: (c: Dispatcher.DispatchController) => void) {
    this.done = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }
  onResponseStart(
    _c: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.status = status;
    this.headers = headers;
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.onChunk?.(c);
  }
  onResponseEnd(_c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.resolve({
      status: this.status,
      headers: this.headers,
      body: Buffer.concat(this.chunks).toString(),
      trailers,
    });
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.reject(err);
  }
}

let pools: UpstreamPools;
const servers: net.Server[] = [];

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function request(
  port: number,
  opts: Partial<Dispatcher.DispatchOptions> = {},
  handler = new Collector(),
): Collector {
  const upstream = pools.get(`127.0.0.1:${port}`, '127.0.0.1', port, {
    protocol: 'http1',
    connectTimeoutMs: 1000,
  });
  upstream.dispatch(
    {
      method: 'GET',
      path: '/',
      headers: { host: 'svc', 'x-test': '1' },
      body: null,
      ...opts,
    } as Dispatcher.DispatchOptions,
    handler,
  );
  return handler;
}

/** A raw server: each connection gets `onData(socket, text so far)` on every read. */
function rawServer(onData: (s: net.Socket, text: string, n: number) => void): net.Server {
  let connections = 0;
  return net.createServer((s) => {
    const n = ++connections;
    let text = '';
    s.on('data', (d) => {
      text += d.toString('latin1');
      onData(s, text, n);
    });
    s.on('error', () => undefined);
  });
}

describe('proxy/upstream: HTTP/1.1 pool', () => {
  beforeEach(() => {
    pools = new UpstreamPools('ferry');
  });
  afterEach(async () => {
    pools.destroy();
    for (const s of servers.splice(0)) {
      (s as http.Server).closeAllConnections?.();
      s.close();
    }
  });

  it('sends the request head and headers, and reuses one keep-alive connection', async () => {
    const seen: string[] = [];
    const sockets = new Set<unknown>();
    const server = http.createServer((req, res) => {
      sockets.add(req.socket);
      seen.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers['x-test']}`);
      res.end(`hello ${seen.length}`);
    });
    const port = await listen(server);
    for (let i = 1; i <= 5; i++) {
      const r = await request(port, { path: `/p${i}` }).done;
      assert.equal(r.status, 200);
      assert.equal(r.body, `hello ${i}`);
    }
    assert.deepEqual(seen, [
      'GET /p1 svc 1',
      'GET /p2 svc 1',
      'GET /p3 svc 1',
      'GET /p4 svc 1',
      'GET /p5 svc 1',
    ]);
    assert.equal(sockets.size, 1, 'one connection for five sequential requests');
  });

  it('hands over chunks the handler may keep: bodies read through the shared read buffer arrive intact', async () => {
    // Two connections at once, each answering 2 MiB in many reads, the head split across
    // writes: plain upstream sockets read into one shared buffer, so a chunk the handler
    // keeps must be its own copy, or the other connection's next read overwrites it.
    const bodies = [randomBytes(2 * 1024 * 1024), randomBytes(2 * 1024 * 1024)];
    const server = rawServer((s, text) => {
      if (!text.endsWith('\r\n\r\n')) return;
      const body = bodies[Number(/GET \/(\d)/.exec(text)![1])]!;
      s.write('HTTP/1.1 200 OK\r\ncontent-');
      setImmediate(() => {
        s.write(`length: ${body.length}\r\n\r\n`);
        for (let at = 0; at < body.length; at += 16 * 1024)
          s.write(body.subarray(at, at + 16 * 1024));
      });
    });
    const port = await listen(server);
    const keepers = [0, 1].map(() => {
      const kept: Buffer[] = [];
      const handler = new Collector();
      // Keep the very buffers handed over, as a queued write would.
      handler.onResponseData = (_c, chunk) => void kept.push(chunk);
      return { handler, kept };
    });
    const results = await Promise.all(
      keepers.map((k, i) => request(port, { path: `/${i}` }, k.handler).done),
    );
    for (const [i, k] of keepers.entries()) {
      assert.equal(results[i]!.status, 200);
      assert.ok(k.kept.length > 4, `body ${i} came in several reads (${k.kept.length})`);
      const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
      assert.equal(sha(Buffer.concat(k.kept)), sha(bodies[i]!), `body ${i} intact`);
    }
  });

  it('reads chunked bodies with trailers, close-delimited bodies, HEAD and 204 without a body', async () => {
    const port = await listen(
      rawServer((s, text) => {
        if (!text.endsWith('\r\n\r\n')) return;
        // The request just completed is the last one on this connection.
        const line = [...text.matchAll(/^(GET|HEAD) (\S+)/gm)].pop()?.[0] ?? '';
        if (line === 'GET /chunked') {
          s.write(
            'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\ngrpc-status: 0\r\n\r\n',
          );
        } else if (line === 'GET /close') {
          s.end('HTTP/1.1 200 OK\r\n\r\nuntil the end');
        } else if (line.startsWith('HEAD')) {
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n');
        } else {
          s.write('HTTP/1.1 204 No Content\r\n\r\n');
        }
      }),
    );
    const chunked = await request(port, { path: '/chunked' }).done;
    assert.equal(chunked.body, 'hello world');
    assert.equal(chunked.trailers['grpc-status'], '0');
    const close = await request(port, { path: '/close' }).done;
    assert.equal(close.body, 'until the end');
    const head = await request(port, { method: 'HEAD', path: '/h' }).done;
    assert.equal(head.headers['content-length'], '1234');
    assert.equal(head.body, '');
    const empty = await request(port, { path: '/204' }).done;
    assert.equal(empty.status, 204);
  });

  it('skips 100 Continue and 103 Early Hints before the final response', async () => {
    const port = await listen(
      rawServer((s, text) => {
        if (!text.endsWith('\r\n\r\n')) return;
        s.write('HTTP/1.1 100 Continue\r\n\r\n');
        s.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\n');
        setTimeout(() => s.write('content-length: 2\r\n\r\nok'), 10);
      }),
    );
    const r = await request(port).done;
    assert.equal(r.status, 201);
    assert.equal(r.body, 'ok');
  });

  it('opens a new connection after Connection: close, and after a short Keep-Alive hint', async () => {
    let connections = 0;
    let n = 0;
    const server = http.createServer((_req, res) => {
      n++;
      if (n === 1) res.setHeader('connection', 'close');
      // timeout=1 leaves no margin: the pool retires the connection after this response.
      if (n === 2) res.setHeader('keep-alive', 'timeout=1');
      res.end('x');
    });
    server.on('connection', () => connections++);
    const port = await listen(server);
    await request(port).done;
    await request(port).done;
    await request(port).done;
    await request(port).done;
    assert.equal(connections, 3, 'close, then the retired hinted one, then one kept');
  });

  it('sends an idempotent request again on a new connection when a kept-alive one turns out closed', async () => {
    const port = await listen(
      rawServer((s, text, n) => {
        if (!text.endsWith('\r\n\r\n')) return;
        // The first connection answers once, then drops the next request unanswered, as a
        // server that timed the idle connection out at that moment would.
        if (n === 1 && text.split('\r\n\r\n').length > 2) {
          s.destroy();
          return;
        }
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfine');
      }),
    );
    assert.equal((await request(port).done).body, 'fine');
    assert.equal((await request(port).done).body, 'fine', 'resent on connection 2');
  });

  it('does not resend a POST that met a closed keep-alive connection', async () => {
    const port = await listen(
      rawServer((s, text, n) => {
        if (!text.includes('\r\n\r\n')) return;
        if (n === 1 && text.split('\r\n\r\n').length > 2) {
          s.destroy();
          return;
        }
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }),
    );
    await request(port).done;
    await assert.rejects(
      request(port, { method: 'POST', body: Buffer.from('data') }).done,
      (err: Error & { code?: string }) =>
        err.code === 'UND_ERR_SOCKET' || err.code === 'ECONNRESET',
    );
  });

  it('fails a malformed response with a protocol error and does not reuse its connection', async () => {
    let connections = 0;
    const port = await listen(
      rawServer((s, text, n) => {
        connections = Math.max(connections, n);
        if (!text.endsWith('\r\n\r\n')) return;
        if (n === 1) s.write('HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n');
        else s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }),
    );
    await assert.rejects(
      request(port).done,
      /invalid response from upstream: invalid content-length/,
    );
    assert.equal((await request(port).done).body, 'ok');
    assert.equal(connections, 2);
  });

  it('reports a refused connection with its code', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(
      request(port).done,
      (err: Error & { code?: string }) => err.code === 'ECONNREFUSED',
    );
  });

  it('never opens more than maxConnections; the rest wait their turn', async () => {
    let open = 0;
    let most = 0;
    const server = http.createServer((_req, res) => {
      setTimeout(() => res.end('done'), 20);
    });
    server.on('connection', (s) => {
      open++;
      most = Math.max(most, open);
      s.on('close', () => open--);
    });
    const port = await listen(server);
    // A pool of its own with a limit of 2.
    const { Http1Upstream } = await import('../../../src/proxy/upstream/http1-upstream.js');
    const upstream = new Http1Upstream('127.0.0.1', port, {
      connectTimeoutMs: 1000,
      maxConnections: 2,
    });
    const handlers = Array.from({ length: 6 }, () => new Collector());
    for (const h of handlers) {
      upstream.dispatch(
        { method: 'GET', path: '/', headers: { host: 'x' } } as Dispatcher.DispatchOptions,
        h,
      );
    }
    const results = await Promise.all(handlers.map((h) => h.done));
    assert.deepEqual(
      results.map((r) => r.body),
      Array(6).fill('done'),
    );
    assert.equal(most, 2);
    await upstream.destroy();
  });

  it('streams a body of unknown length chunked, and one of known length as is', async () => {
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        bodies.push(`${req.headers['transfer-encoding'] ?? req.headers['content-length']}:${body}`);
        res.end('got it');
      });
    });
    const port = await listen(server);
    const stream = new PassThrough();
    const first = request(port, { method: 'POST', body: stream });
    stream.write('part one, ');
    setTimeout(() => stream.end('part two'), 10);
    assert.equal((await first.done).body, 'got it');
    const known = new PassThrough();
    const second = request(port, {
      method: 'PUT',
      headers: { host: 'x', 'content-length': '5' },
      body: known,
    });
    known.end('12345');
    await second.done;
    assert.deepEqual(bodies, ['chunked:part one, part two', '5:12345']);
  });

  it('closes a connection answered before its request body was sent, instead of reusing it', async () => {
    let connections = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/early') {
        res.writeHead(413, { connection: 'keep-alive' });
        res.end('too big');
        return;
      }
      res.end('ok');
    });
    server.on('connection', () => connections++);
    const port = await listen(server);
    const body = new PassThrough();
    const early = request(port, { method: 'POST', path: '/early', body });
    body.write('x'.repeat(1000));
    const r = await early.done;
    assert.equal(r.status, 413);
    body.end('more');
    assert.equal((await request(port).done).body, 'ok');
    assert.equal(connections, 2);
  });

  it('an abort mid-response closes that connection; the next request gets a fresh one', async () => {
    let connections = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/slow') {
        res.write('first part');
        return; // never ends
      }
      res.end('quick');
    });
    server.on('connection', () => connections++);
    const port = await listen(server);
    const abortErr = new Error('client went away');
    const slow = request(port, { path: '/slow' }, new Collector((c) => c.abort(abortErr)));
    await assert.rejects(slow.done, /client went away/);
    assert.equal((await request(port).done).body, 'quick');
    assert.equal(connections, 2);
  });

  it('pauses reading while the handler is paused and resumes after', async () => {
    const big = 'y'.repeat(4 * 1024 * 1024);
    const server = http.createServer((_req, res) => res.end(big));
    const port = await listen(server);
    let paused = false;
    const h = new Collector((c) => {
      if (!paused) {
        paused = true;
        c.pause();
        setTimeout(() => c.resume(), 50);
      }
    });
    const r = await request(port, {}, h).done;
    assert.equal(r.body.length, big.length);
    // The connection is still good for the next request.
    assert.equal((await request(port).done).body.length, big.length);
  });

  it('regression: a request waiting on a slow TLS handshake is carried by a busy connection that frees up first; the handshake timing out fails nobody', async () => {
    // Seen in the demo on a busy machine: the gateway opened a connection per waiting request
    // and each request waited for its own mTLS handshake; the frontend sidecar, short of CPU,
    // took over the 1 s connect timeout to answer, and those requests failed 503 UF while
    // kept-alive connections went free a moment later.
    const ca = OpensslCa.create('pool test root');
    const serverContext = tls.createSecureContext(ca.issue('upstream.test'));
    const clientContext = tls.createSecureContext({ ca: ca.rootPem });
    ca.remove();
    let connections = 0;
    let stalledClosed = false;
    const answers: Array<() => void> = [];
    const port = await listen(
      net.createServer((raw) => {
        const n = ++connections;
        raw.on('error', () => undefined);
        // The second connection is accepted but its handshake never answered: a peer too
        // busy to get to it in time. Only then does the first answer its request.
        if (n === 2) {
          raw.resume();
          raw.on('end', () => raw.destroy());
          raw.on('close', () => {
            stalledClosed = true;
          });
          for (const answer of answers.splice(0)) answer();
          return;
        }
        const s = new tls.TLSSocket(raw, { isServer: true, secureContext: serverContext });
        s.on('error', () => undefined);
        let text = '';
        s.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (!text.endsWith('\r\n\r\n')) return;
          text = '';
          const answer = () => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nc${n}`);
          if (connections >= 2) answer();
          else answers.push(answer);
        });
      }),
    );
    const { Http1Upstream } = await import('../../../src/proxy/upstream/http1-upstream.js');
    const upstream = new Http1Upstream('127.0.0.1', port, {
      connectTimeoutMs: 300,
      tls: { context: () => clientContext, verify: () => undefined, servername: 'upstream.test' },
    });
    const get = () => {
      const h = new Collector();
      upstream.dispatch(
        { method: 'GET', path: '/', headers: { host: 'x' } } as Dispatcher.DispatchOptions,
        h,
      );
      return h;
    };
    const first = get();
    await waitFor(
      'the first connection to carry its request',
      () => upstream.connections === 1 && answers.length === 1,
    );
    const second = get();
    assert.equal((await first.done).body, 'c1');
    assert.equal((await second.done).body, 'c1', 'carried by the first connection once free');
    // The stalled handshake times out and closes; nobody was waiting on it any more.
    await waitFor('the stalled connection to be given up', () => stalledClosed);
    assert.equal((await get().done).body, 'c1');
    assert.equal(connections, 2);
    await upstream.destroy();
  });

  it('a connect failure fails the request waiting on it even while a busy connection might carry it later: a hung host is left, not waited on', async () => {
    const ca = OpensslCa.create('pool test root');
    const serverContext = tls.createSecureContext(ca.issue('upstream.test'));
    const clientContext = tls.createSecureContext({ ca: ca.rootPem });
    ca.remove();
    let connections = 0;
    let requests = 0;
    const port = await listen(
      net.createServer((raw) => {
        connections++;
        raw.on('error', () => undefined);
        // The first connection takes its request and never answers (a hung host); the
        // second never finishes its handshake.
        if (connections > 1) {
          raw.resume();
          return;
        }
        const s = new tls.TLSSocket(raw, { isServer: true, secureContext: serverContext });
        s.on('error', () => undefined);
        s.on('data', () => requests++);
      }),
    );
    const { Http1Upstream } = await import('../../../src/proxy/upstream/http1-upstream.js');
    const upstream = new Http1Upstream('127.0.0.1', port, {
      connectTimeoutMs: 300,
      tls: { context: () => clientContext, verify: () => undefined, servername: 'upstream.test' },
    });
    const get = () => {
      const h = new Collector();
      upstream.dispatch(
        { method: 'GET', path: '/', headers: { host: 'x' } } as Dispatcher.DispatchOptions,
        h,
      );
      return h;
    };
    get().done.catch(() => undefined);
    await waitFor('the first request to reach the hung host', () => requests === 1);
    await assert.rejects(
      get().done,
      (err: Error & { code?: string }) => err.code === 'UND_ERR_CONNECT_TIMEOUT',
    );
    assert.equal(connections, 2);
    await upstream.destroy();
  });
});
