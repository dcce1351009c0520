/**
 * HTTP/2 requests served on node's core stream API (H2Request, H2Response) instead of its
 * compatibility layer, with the session on the accepted socket itself: what the
 * compatibility layer did for the data path must still happen (bodies whole and in order,
 * trailers, 100-continue, 405 for CONNECT, 417 for other expectations).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import {
  type H2Request,
  type H2Response,
  type HttpListener,
  listenHttp,
} from '../../../src/proxy/listener/index.js';

interface Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  informational: number[];
}

function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    const informational: number[] = [];
    let status = 0;
    let got: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('headers', (h) => informational.push(Number(h[':status'])));
    req.on('response', (h) => {
      status = Number(h[':status']);
      got = h;
    });
    req.on('trailers', (t) => {
      trailers = t;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      resolve({ status, headers: got, trailers, body: Buffer.concat(chunks), informational }),
    );
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('listener: HTTP/2 streams on the core API', () => {
  let listener: HttpListener;
  let session: http2.ClientHttp2Session;
  before(async () => {
    listener = await listenHttp('127.0.0.1', 0, (req, res) => {
      const h2req = req as H2Request;
      const h2res = res as H2Response;
      if (req.url === '/echo') {
        const chunks: Buffer[] = [];
        const body = h2req.body;
        if (body === null) {
          h2res.writeHead(200, { 'x-body': 'none' });
          h2res.end();
          return;
        }
        body.on('data', (c: Buffer) => chunks.push(c));
        body.on('end', () => {
          const all = Buffer.concat(chunks);
          h2res.writeHead(200, { 'x-sha': sha(all), 'content-type': 'application/octet-stream' });
          h2res.write(all.subarray(0, 10));
          h2res.addTrailers({ 'x-length': String(all.length) });
          h2res.end(all.subarray(10));
        });
        return;
      }
      h2res.end('plain');
    });
    session = http2.connect(`http://127.0.0.1:${listener.port}`);
  });
  after(async () => {
    session.close();
    await listener.close(100);
  });

  it('a large body sent at once with the preface arrives whole and in order; trailers follow', async () => {
    // Two megabytes: well past one socket read and the initial flow-control window, so that
    // bytes arrive while the session is set up on the socket and after.
    const body = randomBytes(2 * 1024 * 1024);
    const fresh = http2.connect(`http://127.0.0.1:${listener.port}`);
    try {
      const r = await request(fresh, { ':method': 'POST', ':path': '/echo' }, body);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-sha'], sha(body));
      assert.equal(sha(r.body), sha(body));
      assert.equal(r.trailers['x-length'], String(body.length));
    } finally {
      fresh.close();
    }
  });

  it('a request ended with its headers has no body; end() without writeHead answers 200', async () => {
    const a = await request(session, { ':path': '/echo' });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-body'], 'none');
    const b = await request(session, { ':path': '/other' });
    assert.equal(b.status, 200);
    assert.equal(b.body.toString(), 'plain');
  });

  it('answers Expect: 100-continue with 100 before the response, other expectations 417', async () => {
    const a = await request(
      session,
      { ':method': 'POST', ':path': '/echo', expect: '100-continue' },
      Buffer.from('hello'),
    );
    assert.deepEqual(a.informational, [100]);
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-sha'], sha(Buffer.from('hello')));
    const b = await request(session, { ':path': '/echo', expect: 'something-else' });
    assert.equal(b.status, 417);
  });

  it('answers CONNECT with 405 (not served over HTTP/2)', async () => {
    const r = await request(session, { ':method': 'CONNECT', ':authority': 'example.test:443' });
    assert.equal(r.status, 405);
  });
});
