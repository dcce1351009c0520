/**
 * What the listener learnt about a connection when it accepted it is found again from each
 * request: plaintext HTTP/1.1 and h2c, and HTTP/1.1 and HTTP/2 over mutual TLS, the layers
 * the listener puts over the TCP socket carry it (the inbound listener routes on the port a
 * connection was sent to this way).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { listenHttp, requestRawSocket } from '../../../src/proxy/listener/index.js';
import { TestCa } from '../../support/test-ca.js';

const TAG = Symbol('test.accepted');
type Tagged = { [TAG]?: number };

describe('listener: the accepted socket under every request', () => {
  it('is found from HTTP/1.1 and HTTP/2 requests, plaintext and over mutual TLS', async () => {
    const ca = await TestCa.create();
    const server = await ca.issue('spiffe://cluster.local/ns/default/sa/server');
    const client = await ca.issue('spiffe://cluster.local/ns/default/sa/client');
    const context = tls.createSecureContext({
      key: server.key,
      cert: server.chain,
      ca: server.roots,
    });
    let accepted = 0;
    // Each request names itself in its path; a connection from anything else on the machine
    // that meets a recycled port (seen once in a full run: a 7th request) is not counted.
    const seen = new Map<string, number | undefined>();
    for (const mode of ['PERMISSIVE', 'STRICT'] as const) {
      const listener = await listenHttp(
        '127.0.0.1',
        0,
        (req, res) => {
          const url = (req as http.IncomingMessage).url ?? '';
          if (url.startsWith('/mine/'))
            seen.set(url, (requestRawSocket(req as never) as Tagged | undefined)?.[TAG]);
          (res as http.ServerResponse).end('ok');
        },
        {
          tls: { mode: () => mode, context: () => context },
          accept: (socket: net.Socket) => {
            (socket as Tagged)[TAG] = ++accepted;
            return false;
          },
        },
      );
      const port = listener.port;
      const h1 = (secure: boolean) =>
        new Promise<void>((resolve, reject) => {
          const get = secure ? https.get : http.get;
          get(
            `${secure ? 'https' : 'http'}://127.0.0.1:${port}/mine/${mode}/h1/${secure}`,
            secure
              ? {
                  key: client.key,
                  cert: client.chain,
                  ca: client.roots,
                  rejectUnauthorized: false,
                  agent: false,
                }
              : { agent: false },
            (res) => res.resume().on('end', resolve),
          ).on('error', reject);
        });
      const h2 = (secure: boolean) =>
        new Promise<void>((resolve, reject) => {
          const session = http2.connect(
            `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
            secure
              ? { key: client.key, cert: client.chain, ca: client.roots, rejectUnauthorized: false }
              : {},
          );
          session.on('error', reject);
          const req = session.request({ ':path': `/mine/${mode}/h2/${secure}` });
          req.on('error', reject);
          req.resume().on('end', () => {
            session.close();
            resolve();
          });
          req.end();
        });
      if (mode === 'PERMISSIVE') {
        await h1(false);
        await h2(false);
      }
      await h1(true);
      await h2(true);
      await listener.close(0);
    }
    // One accepted connection per request, each found again from its request.
    const tags = [...seen.values()];
    assert.deepEqual(
      [...seen.keys()],
      [
        '/mine/PERMISSIVE/h1/false',
        '/mine/PERMISSIVE/h2/false',
        '/mine/PERMISSIVE/h1/true',
        '/mine/PERMISSIVE/h2/true',
        '/mine/STRICT/h1/true',
        '/mine/STRICT/h2/true',
      ],
    );
    assert.ok(
      tags.every((t) => t !== undefined),
      `every request finds its accepted socket: ${tags}`,
    );
    assert.equal(new Set(tags).size, 6, `each its own connection: ${tags}`);
    assert.deepEqual(
      tags,
      [...tags].sort((a, b) => a! - b!),
      'in the order they were accepted',
    );
  });
});
