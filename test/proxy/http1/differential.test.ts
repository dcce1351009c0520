/**
 * Differential test of the HTTP/1.1 fast path against node's own parser (llhttp), over real
 * sockets on 127.0.0.1. For every case of differential-corpus.ts both sides must come to
 * the same decision (accept, reject, close, or wait for more bytes) and the same framing:
 * the same requests (or response) with the same bodies, in the same places, the sentinel
 * that follows each request case included.
 *
 * Requests: llhttp is node's `http.createServer` (with the head size Ferry allows); the fast
 * path is Ferry's `listenHttp` with the fast path on, as the sidecar runs it (HTTP/1.0 goes
 * on to node's server there, as in production). Responses: llhttp is `http.get`; the fast
 * path is Ferry's HTTP/1.1 upstream pool, whose head and body parsers are the fast path's.
 * Where the two differ on purpose, DELIBERATE says how and why (RFC 9112 / 9110 sections);
 * the test checks both sides still behave as written there.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { FastRequest, FastResponse } from '../../../src/proxy/http1/index.js';
import { type HttpListener, listenHttp } from '../../../src/proxy/listener/index.js';
import { UpstreamPools } from '../../../src/proxy/upstream/index.js';
import { type Case, REQUESTS, RESPONSES } from './differential-corpus.js';

const SENTINEL = 'GET /sentinel HTTP/1.1\r\nHost: a\r\n\r\n';
/**
 * A side that neither answers the sentinel nor closes by then is waiting for more bytes (it
 * read a body longer than the other did). No case is expected to end so; the bound is far
 * above what a loaded machine takes, and only turns such a framing difference into a
 * verdict the table shows rather than a test timeout.
 */
const WAITS_MS = 10_000;
const MAX_HEAD = 60 * 1024;

type Verdict = 'accept' | 'reject' | 'close' | 'waits';
interface Outcome {
  readonly verdict: Verdict;
  /** What the handler got: method, target, the x-v field and the body, in order. */
  readonly messages: readonly string[];
}

/**
 * Differences on purpose: case name -> what each side does and why. Ferry's side is the
 * stricter one in each: a proxy that lets through what the next hop may read differently
 * is how requests are smuggled (RFC 9112 §11.2).
 */
const DELIBERATE: Record<string, { fast: Verdict; llhttp: Verdict; why: string }> = {
  'request: chunked, space before extension': {
    fast: 'accept',
    llhttp: 'reject',
    why: 'RFC 9112 §7.1.1 allows BWS before ";" and RFC 9110 §5.6.3 says a recipient MUST parse and remove it; Ferry re-frames the body it forwards, so no next hop sees the space',
  },
  'request: Transfer-Encoding: gzip, chunked': {
    fast: 'reject',
    llhttp: 'accept',
    why: 'RFC 9112 §6.1: a server SHOULD answer 501 to a transfer coding it does not understand; Ferry re-chunks bodies and would drop the gzip coding silently',
  },
  'request: Transfer-Encoding twice (gzip, then chunked)': {
    fast: 'reject',
    llhttp: 'accept',
    why: 'the same field list as "gzip, chunked" (RFC 9110 §5.3): 501 as above',
  },
  'request: lower-case method': {
    fast: 'accept',
    llhttp: 'reject',
    why: 'RFC 9110 §9.1: a method is any token, case-sensitive, and a proxy forwards extension methods (§16.1); llhttp knows a fixed list. Ferry frames what it forwards itself',
  },
  'request: extension method': {
    fast: 'accept',
    llhttp: 'reject',
    why: 'as for "lower-case method": RFC 9110 §9.1 and §16.1',
  },
  'request: two spaces after the method': {
    fast: 'reject',
    llhttp: 'accept',
    why: 'RFC 9112 §3: an invalid request-line SHOULD get 400 and SHOULD NOT be autocorrected, it may be crafted to slip past filters along the chain',
  },
  'request: HTTP/2.0 in a request line': {
    fast: 'reject',
    llhttp: 'reject',
    why: 'RFC 9112 §2.3: HTTP/1.1 messages carry HTTP/1.x; Ferry answers 505 (RFC 9110 §15.6.6) where node serves it as a request (and then refuses the sentinel, 400)',
  },
  'request: no version': {
    fast: 'reject',
    llhttp: 'reject',
    why: 'an HTTP/0.9 simple request (RFC 9112 Appendix C.1: not supported); node serves it as a request (and then refuses the sentinel, 400)',
  },
  'request: HTTP/1.0 GET': {
    fast: 'close',
    llhttp: 'reject',
    why: 'both serve the one request and nothing after it (RFC 9112 §9.3, §9.6); node refuses the bytes that follow (HPE_CLOSED_CONNECTION) with a 400 written before its answer to the request, which is lost, where Ferry answers and closes',
  },
  'request: Connection: close, then another': {
    fast: 'close',
    llhttp: 'reject',
    why: 'as for "HTTP/1.0 GET" (RFC 9112 §9.6: the server MUST NOT process further requests; it answers the one that asked to close)',
  },
  'request: two Host fields': {
    fast: 'reject',
    llhttp: 'accept',
    why: 'RFC 9112 §3.2: a server MUST answer 400 to more than one Host field line; node keeps the first, a next hop might take the other',
  },
  'response: status 099': {
    fast: 'reject',
    llhttp: 'accept',
    why: 'RFC 9110 §15: status codes outside 100..599 are invalid',
  },
  'response: Transfer-Encoding: gzip, chunked': {
    fast: 'reject',
    llhttp: 'accept',
    why: 'Ferry sends no TE field, so only chunked is acceptable to it (RFC 9112 §7.4); it does not decode transfer codings and answers 502 rather than forward a body it cannot frame',
  },
  'response: Transfer-Encoding: gzip': {
    fast: 'reject',
    llhttp: 'accept',
    why: 'as above (RFC 9112 §7.4); llhttp reads it until close (§6.3 item 4)',
  },
};

function describeMessage(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): string {
  const xv = headers['x-v'];
  return `${method} ${url}${xv === undefined ? '' : ` x-v=${JSON.stringify(xv)}`} body=${JSON.stringify(body.toString('latin1'))}`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A handler for either side: records each request once its body is in, then answers. */
function recorder(seen: string[]) {
  return async (
    req: IncomingMessage | FastRequest,
    res: ServerResponse | FastResponse,
  ): Promise<void> => {
    let body: Buffer;
    try {
      if ('body' in req) {
        const b = (req as FastRequest).body;
        body = b === null ? Buffer.alloc(0) : Buffer.isBuffer(b) ? b : await readAll(b);
      } else body = await readAll(req as IncomingMessage);
    } catch {
      // The body broke its framing: answered 400 as the exchange answers a
      // DownstreamProtocolError (node's server answers a broken body itself).
      if (!res.headersSent) {
        (res as ServerResponse).writeHead(400, { 'content-length': 0, connection: 'close' });
        res.end();
      }
      return;
    }
    const sentinel = req.url === '/sentinel';
    if (!sentinel) seen.push(describeMessage(req.method!, req.url!, req.headers, body));
    (res as ServerResponse).writeHead(200, {
      'content-length': 0,
      ...(sentinel ? { 'x-sentinel': 'yes' } : {}),
    });
    res.end();
  };
}

/** Sends `bytes` and the sentinel; the verdict comes from what comes back. */
function exchange(port: number, bytes: string): Promise<Verdict> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const finish = (v: Verdict) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const refused = () => /HTTP\/1\.[01] [45]\d\d /.test(got);
    const timer = setTimeout(() => finish(refused() ? 'reject' : 'waits'), WAITS_MS);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/\r\nx-sentinel: yes\r\n/i.test(got)) finish('accept');
    });
    s.on('close', () => finish(refused() ? 'reject' : 'close'));
    s.on('error', () => undefined);
    s.write(Buffer.from(bytes + SENTINEL, 'latin1'));
  });
}

async function requestOutcome(port: number, seen: string[], c: Case): Promise<Outcome> {
  seen.length = 0;
  const verdict = await exchange(port, c.bytes);
  return { verdict, messages: [...seen] };
}

/** A server that answers each connection's first request head with `bytes`, then closes. */
function responder(): { server: net.Server; bytes: string } {
  const state = { bytes: '', server: undefined as unknown as net.Server };
  state.server = net.createServer((s) => {
    let head = '';
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) s.end(Buffer.from(state.bytes, 'latin1'));
    });
  });
  return state;
}

function llhttpResponse(port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get({
      port,
      host: '127.0.0.1',
      path: '/',
      agent: false,
      headers: { host: 'a' },
    });
    req.on('error', () => resolve({ verdict: 'reject', messages: [] }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => undefined);
      res.on('close', () =>
        resolve(
          res.complete
            ? {
                verdict: 'accept',
                messages: [
                  describeMessage(String(res.statusCode), '', res.headers, Buffer.concat(chunks)),
                ],
              }
            : { verdict: 'reject', messages: [] },
        ),
      );
    });
  });
}

function fastResponse(pools: UpstreamPools, port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onResponseStart: (_c, s, h) => {
        status = s;
        headers = h as IncomingHttpHeaders;
      },
      onResponseData: (_c, chunk) => {
        chunks.push(Buffer.from(chunk));
      },
      onResponseEnd: () =>
        resolve({
          verdict: 'accept',
          messages: [describeMessage(String(status), '', headers, Buffer.concat(chunks))],
        }),
      onResponseError: () => resolve({ verdict: 'reject', messages: [] }),
    };
    pools
      .get(`diff-${port}`, '127.0.0.1', port, { protocol: 'http1', connectTimeoutMs: 2000 })
      .dispatch(
        {
          method: 'GET',
          path: '/',
          headers: { host: 'a' },
          body: null,
        } as Dispatcher.DispatchOptions,
        handler,
      );
  });
}

const show = (o: Outcome) => `${o.verdict} ${JSON.stringify(o.messages)}`;

function compare(kind: string, c: Case, fast: Outcome, llhttp: Outcome): string | undefined {
  const known = DELIBERATE[`${kind}: ${c.name}`];
  if (known) {
    if (fast.verdict === known.fast && llhttp.verdict === known.llhttp) return undefined;
    return `${kind} "${c.name}": documented as fast ${known.fast} / llhttp ${known.llhttp} (${known.why}), got fast ${show(fast)} / llhttp ${show(llhttp)}`;
  }
  if (show(fast) === show(llhttp)) return undefined;
  return `${kind} "${c.name}": fast path ${show(fast)}, llhttp ${show(llhttp)}`;
}

describe('proxy/http1: differential test of the fast path against llhttp', function () {
  this.timeout(300_000);
  let listener: HttpListener;
  let node: http.Server;
  const fastSeen: string[] = [];
  const nodeSeen: string[] = [];

  before(async () => {
    listener = await listenHttp('127.0.0.1', 0, recorder(fastSeen) as never, { fastPath: true });
    node = http.createServer({ maxHeaderSize: MAX_HEAD }, recorder(nodeSeen) as never);
    await new Promise<void>((r) => node.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await listener.close(0);
    node.closeAllConnections();
    await new Promise((r) => node.close(r));
  });

  it('gives every request case the same decision and framing', async () => {
    const nodePort = (node.address() as AddressInfo).port;
    const diffs: string[] = [];
    const table: string[] = [];
    for (const c of REQUESTS) {
      const [fast, llhttp] = await Promise.all([
        requestOutcome(listener.port, fastSeen, c),
        requestOutcome(nodePort, nodeSeen, c),
      ]);
      table.push(`  ${c.name.padEnd(48)} fast ${fast.verdict.padEnd(6)} llhttp ${llhttp.verdict}`);
      const d = compare('request', c, fast, llhttp);
      if (d) diffs.push(d);
    }
    if (process.env.FERRY_DIFF_TABLE) process.stdout.write(`${table.join('\n')}\n`);
    assert.deepEqual(diffs, []);
  });

  it('gives every response case the same decision and framing', async () => {
    const pools = new UpstreamPools('ferry');
    const r = responder();
    await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
    const port = (r.server.address() as AddressInfo).port;
    const diffs: string[] = [];
    const table: string[] = [];
    try {
      for (const c of RESPONSES) {
        r.bytes = c.bytes;
        const fast = await fastResponse(pools, port);
        const llhttp = await llhttpResponse(port);
        table.push(
          `  ${c.name.padEnd(48)} fast ${fast.verdict.padEnd(6)} llhttp ${llhttp.verdict}`,
        );
        const d = compare('response', c, fast, llhttp);
        if (d) diffs.push(d);
      }
    } finally {
      pools.destroy();
      r.server.close();
    }
    if (process.env.FERRY_DIFF_TABLE) process.stdout.write(`${table.join('\n')}\n`);
    assert.deepEqual(diffs, []);
  });
});
