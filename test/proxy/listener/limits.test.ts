/**
 * The downstream limits of a listener (issue 12, "bounded under abuse"), over real sockets
 * with small configured values: slowloris and idle connections are closed by the header-read
 * and idle timeouts on the fast path, node's path and HTTP/2 (and a connection whose request
 * is under way is not); heads with too many fields get 431; pipelined bytes behind a request
 * still being answered stop being read (the server socket's bytesRead stays bounded while the
 * client's writes back up), and every pipelined request is answered once the first is;
 * HTTP/2 rapid reset ends the connection with GOAWAY(ENHANCE_YOUR_CALM), the sidecar's own
 * resets do not count; a CONTINUATION flood ends the connection. Every limit is counted.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import {
  checkLimits,
  DEFAULT_LIMITS,
  type H2Response,
  type HttpListener,
  type LimitName,
  LimitsError,
  type ListenerLimits,
  listenHttp,
  resetStream,
} from '../../../src/proxy/listener/index.js';
import { waitFor } from '../../support/wait-for.js';

const SMALL: ListenerLimits = {
  headersTimeoutMs: 150,
  idleTimeoutMs: 150,
  maxHeadBytes: 60 * 1024,
  maxHeaders: 100,
  maxPipelinedBytes: 16 * 1024,
  h2MaxConcurrentStreams: 128,
  h2ResetMinStreams: 100,
  tcpIdleTimeoutMs: 3_600_000,
};

interface Harness {
  listener: HttpListener;
  hits: LimitName[];
  /** Responses held by the handler for /hold, released by the test. */
  held: Array<() => void>;
  /** The listener's side of every connection, as accepted. */
  accepted: net.Socket[];
}

async function harness(fastPath: boolean, limits: ListenerLimits = SMALL): Promise<Harness> {
  const hits: LimitName[] = [];
  const held: Array<() => void> = [];
  const accepted: net.Socket[] = [];
  const listener = await listenHttp(
    '127.0.0.1',
    0,
    (req, res) => {
      if (req.url === '/hold') {
        held.push(() => (res as H2Response).end('held'));
        return;
      }
      if (req.url === '/server-reset') {
        const stream = (res as H2Response).stream;
        setImmediate(() => resetStream(stream, http2.constants.NGHTTP2_INTERNAL_ERROR));
        return;
      }
      if (req.url === '/never') return;
      (res as H2Response).end('ok');
    },
    {
      fastPath,
      limits,
      limitHit: (n) => hits.push(n),
      accept: (socket) => {
        accepted.push(socket);
        return false;
      },
    },
  );
  return { listener, hits, held, accepted };
}

/** A connection and whether (and when in the test's order of events) it was closed by the server. */
function connect(
  port: number,
): Promise<{ socket: net.Socket; closed: () => boolean; got: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let closed = false;
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed: () => closed, got: () => got }));
    socket.once('error', reject);
  });
}

const count = (hits: LimitName[], name: LimitName) => hits.filter((h) => h === name).length;

for (const fastPath of [true, false]) {
  describe(`listener limits: HTTP/1.1 (${fastPath ? 'fast path' : "node's path"})`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await harness(fastPath);
    });
    afterEach(async () => {
      for (const release of h.held) release();
      await h.listener.close(0);
    });

    it('closes a connection that never sends a byte (header-read timeout), counted', async () => {
      const c = await connect(h.listener.port);
      await waitFor('the silent connection closed', c.closed);
      assert.equal(count(h.hits, 'headers_timeout'), 1);
    });

    it('closes a slowloris head (a header line at a time, never finished), counted', async () => {
      const c = await connect(h.listener.port);
      c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => c.socket.write('X-A: b\r\n'), 20);
      try {
        await waitFor('the slowloris connection closed', c.closed);
      } finally {
        clearInterval(drip);
      }
      assert.equal(count(h.hits, 'headers_timeout'), 1);
      assert.doesNotMatch(c.got(), /^HTTP\/1\.1 200/);
    });

    it('closes a keep-alive connection idle after its response; one with a request under way stays', async () => {
      const busy = await connect(h.listener.port);
      busy.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor('the held request reached the handler', () => h.held.length === 1);
      const idle = await connect(h.listener.port);
      idle.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor('the idle connection closed after its response', idle.closed);
      assert.match(idle.got(), /^HTTP\/1\.1 200 /);
      assert.equal(count(h.hits, 'idle_timeout'), 1);
      // The idle one was closed past the timeout; the busy one, older, is still open.
      assert.equal(busy.closed(), false, 'a connection with a request under way was closed');
      h.held.shift()?.();
      await waitFor('the held response', () => /held$/.test(busy.got()));
      busy.socket.destroy();
    });

    it('answers 431 to a head with more header fields than the limit, counted', async () => {
      const c = await connect(h.listener.port);
      const fields = Array.from({ length: 101 }, (_, i) => `X-F${i}: v\r\n`).join('');
      c.socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`);
      await waitFor('the 431', () => /^HTTP\/1\.1 431 /.test(c.got()));
      assert.equal(count(h.hits, 'too_many_headers'), 1);
      // 99 fields besides Host pass.
      const ok = await connect(h.listener.port);
      const fewer = Array.from({ length: 99 }, (_, i) => `X-F${i}: v\r\n`).join('');
      ok.socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${fewer}\r\n`);
      await waitFor('the 200', () => /^HTTP\/1\.1 200 /.test(ok.got()));
      ok.socket.destroy();
    });
  });
}

describe('listener limits: pipelined bytes behind a request being answered (fast path)', () => {
  let h: Harness;
  before(async () => {
    h = await harness(true, { ...SMALL, headersTimeoutMs: 60_000, idleTimeoutMs: 60_000 });
  });
  after(() => h.listener.close(0));

  it('stops reading the socket (bounded bytes read, the client backs up) and answers every request once the first is done', async () => {
    const c = await connect(h.listener.port);
    await waitFor('the connection accepted', () => h.accepted.length === 1);
    const server = h.accepted[0];
    c.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the held request reached the handler', () => h.held.length === 1);
    // 4 MiB of pipelined requests (about 2,000), as fast as the socket takes them.
    const one = `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(2000)}\r\n\r\n`;
    const total = 2000;
    let written = 0;
    let blocked = false;
    while (written < total) {
      written++;
      if (!c.socket.write(one)) {
        blocked = true;
        break;
      }
    }
    // The client's writes back up: the listener stopped reading rather than hold what the
    // client sends (node's own read-ahead and the kernel's buffers take the rest).
    assert.ok(blocked, 'all 4 MiB were taken in');
    await waitFor('reading paused, counted', () => count(h.hits, 'pipeline_paused') >= 1);
    assert.ok(
      server.bytesRead < SMALL.maxPipelinedBytes + 256 * 1024,
      `read ${server.bytesRead} bytes of ${one.length * written} behind one request`,
    );
    // Release the first response and let the client write the rest as it drains.
    h.held.shift()?.();
    const send = async () => {
      while (written < total) {
        written++;
        if (!c.socket.write(one)) await new Promise((r) => c.socket.once('drain', r));
      }
    };
    await send();
    await waitFor(
      'every pipelined request answered',
      // The held one and the pipelined ones.
      () => (c.got().match(/HTTP\/1\.1 200 /g) ?? []).length === total + 1,
      20_000,
    );
    assert.match(c.got(), /^HTTP\/1\.1 200 .*?held/s);
    c.socket.destroy();
  });
});

describe('listener limits: a pipelining bound smaller than a head (fast path)', () => {
  let h: Harness;
  before(async () => {
    h = await harness(true, {
      ...SMALL,
      headersTimeoutMs: 60_000,
      idleTimeoutMs: 60_000,
      maxPipelinedBytes: 1024,
    });
  });
  after(() => h.listener.close(0));

  it('regression: a head still incomplete when reading paused is read to its end once the request before it is answered', async () => {
    const c = await connect(h.listener.port);
    c.socket.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the held request reached the handler', () => h.held.length === 1);
    // 4 KiB of a head, over the 1 KiB bound, without its end.
    c.socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(4096)}\r\n`);
    await waitFor('reading paused', () => count(h.hits, 'pipeline_paused') === 1);
    h.held.shift()?.();
    await waitFor('the held response', () => /held$/.test(c.got()));
    c.socket.write('\r\n');
    await waitFor('the second response', () => /held.*HTTP\/1\.1 200 .*ok$/s.test(c.got()));
    c.socket.destroy();
  });

  it('a head of its own over the bound, with nothing under way, is not paused', async () => {
    const c = await connect(h.listener.port);
    c.socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(4096)}\r\n`);
    await new Promise((r) => setImmediate(r));
    c.socket.write('X-End: 1\r\n\r\n');
    await waitFor('the response', () => /^HTTP\/1\.1 200 .*ok$/s.test(c.got()));
    c.socket.destroy();
  });
});

describe('listener limits: HTTP/2', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(true);
  });
  afterEach(async () => {
    for (const release of h.held) release();
    await h.listener.close(0);
  });

  function session(): {
    s: http2.ClientHttp2Session;
    closed: () => boolean;
    goaway: () => number | undefined;
  } {
    const s = http2.connect(`http://127.0.0.1:${h.listener.port}`);
    let closed = false;
    let goaway: number | undefined;
    s.on('error', () => undefined);
    s.on('close', () => (closed = true));
    s.on('goaway', (code) => (goaway = code));
    return { s, closed: () => closed, goaway: () => goaway };
  }

  function get(s: http2.ClientHttp2Session, path: string): Promise<string> {
    return new Promise((resolve) => {
      const req = s.request({ ':path': path });
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('error', () => undefined);
      req.on('close', () => resolve(body));
    });
  }

  it('closes a session that opens no stream (header-read timeout), counted', async () => {
    const c = session();
    await waitFor('the session closed', c.closed);
    assert.equal(count(h.hits, 'headers_timeout'), 1);
  });

  it('closes a session idle after its streams, not one with a stream open; PINGs do not keep it', async () => {
    const busy = session();
    const held = busy.s.request({ ':path': '/hold' });
    held.on('error', () => undefined);
    await waitFor('the held stream reached the handler', () => h.held.length === 1);
    const idle = session();
    assert.equal(await get(idle.s, '/'), 'ok');
    const pinger = setInterval(() => idle.s.closed || idle.s.ping(() => undefined), 20);
    try {
      await waitFor('the idle session closed', idle.closed);
    } finally {
      clearInterval(pinger);
    }
    assert.equal(count(h.hits, 'idle_timeout'), 1);
    assert.equal(busy.closed(), false, 'a session with a stream open was closed');
    let body = '';
    held.on('data', (d: Buffer) => (body += d));
    h.held.shift()?.();
    await waitFor('the held response', () => body === 'held');
    busy.s.destroy();
  });

  it('rapid reset: a client resetting every stream it opens gets GOAWAY(ENHANCE_YOUR_CALM), counted', async () => {
    const c = session();
    for (let i = 0; i < 300 && !c.closed() && c.goaway() === undefined; i++) {
      const req = c.s.request({ ':path': '/never' });
      req.on('error', () => undefined);
      req.close(http2.constants.NGHTTP2_CANCEL);
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    await waitFor('the session ended', () => c.closed() || c.goaway() !== undefined);
    assert.equal(c.goaway(), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    assert.equal(count(h.hits, 'h2_rapid_reset'), 1);
  });

  it('streams the server itself resets do not count as rapid reset', async () => {
    const c = session();
    const results = await Promise.all(Array.from({ length: 150 }, () => get(c.s, '/server-reset')));
    assert.equal(results.length, 150);
    assert.equal(await get(c.s, '/'), 'ok', 'the session still serves');
    assert.equal(count(h.hits, 'h2_rapid_reset'), 0);
    c.s.destroy();
  });

  it('a CONTINUATION flood ends the connection, counted as a protocol error', async () => {
    const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
      const head = Buffer.alloc(9);
      head.writeUIntBE(payload.length, 0, 3);
      head[3] = type;
      head[4] = flags;
      head.writeUInt32BE(stream, 5);
      return Buffer.concat([head, payload]);
    };
    const literal = (n: string, v: string) =>
      Buffer.concat([
        Buffer.from([0, n.length]),
        Buffer.from(n),
        Buffer.from([v.length]),
        Buffer.from(v),
      ]);
    const c = await connect(h.listener.port);
    const block = Buffer.concat([
      literal(':method', 'GET'),
      literal(':path', '/'),
      literal(':scheme', 'http'),
      literal(':authority', 'x'),
    ]);
    c.socket.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        frame(4, 0, 0, Buffer.alloc(0)),
        frame(1, 0x1, 1, block), // END_STREAM, no END_HEADERS: CONTINUATION frames follow
      ]),
    );
    for (let i = 0; i < 1000 && !c.closed(); i++)
      c.socket.write(frame(9, 0, 1, literal(`x-c${i}`, 'v')));
    await waitFor('the connection closed', c.closed);
    // (The GOAWAY nghttp2 sends first may be lost to the reset of a connection closed with
    // the flood still unread, so only the close and the count are asserted.)
    await waitFor('the protocol error counted', () => count(h.hits, 'h2_protocol_error') >= 1);
    assert.equal(h.listener.connections, 0);
  });

  it('more header fields than the limit: the stream is refused (ENHANCE_YOUR_CALM), never served', async () => {
    const c = session();
    const headers: http2.OutgoingHttpHeaders = { ':path': '/' };
    for (let i = 0; i < 120; i++) headers[`x-f${i}`] = 'v';
    const req = c.s.request(headers);
    req.on('error', () => undefined);
    let status = 0;
    req.on('response', (r) => (status = Number(r[':status'])));
    req.resume();
    await new Promise((r) => req.on('close', r));
    assert.equal(status, 0);
    assert.equal(req.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    c.s.destroy();
  });
});

describe('listener limits: checkLimits', () => {
  it('fills in the defaults and refuses what makes no sense, naming the limit', () => {
    assert.deepEqual(checkLimits({ idleTimeoutMs: 5000 }), {
      ...DEFAULT_LIMITS,
      idleTimeoutMs: 5000,
    });
    assert.throws(
      () => checkLimits({ headersTimeoutMs: 0 }),
      /headersTimeoutMs must be a positive/,
    );
    assert.throws(() => checkLimits({ maxHeaders: 1.5 }), LimitsError);
    assert.throws(() => checkLimits({ maxHeaders: 3 }), /maxHeaders must be at least 4/);
  });
});
