/** Protocol detection from first bytes, and reading them from a real socket. */
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  DEFAULT_OPAQUE_PORTS,
  detectProtocol,
  readFirstBytes,
  requestHost,
} from '../../../src/proxy/listener/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('proxy/listener: protocol detection', () => {
  it('tells TLS, HTTP/2 prior knowledge and HTTP/1.1 apart; anything else is opaque', () => {
    assert.equal(detectProtocol(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), 'tls');
    assert.equal(detectProtocol(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'http2');
    assert.equal(detectProtocol(b('PRI * HTT')), 'http2', 'a preface cut short');
    assert.equal(detectProtocol(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), 'http1');
    assert.equal(detectProtocol(b('M-SEARCH * HTTP/1.1\r\n')), 'http1');
    assert.equal(detectProtocol(b('EHLO client.example\r\n')), 'http1', 'a method-like word');
    assert.equal(detectProtocol(b('\x00\x00\x00\x08\x04\xd2\x16\x2f')), 'opaque', 'PostgreSQL');
    assert.equal(detectProtocol(b('*1\r\n$4\r\nPING\r\n')), 'opaque', 'Redis');
    assert.equal(detectProtocol(b('get /')), 'opaque', 'lower case is no method');
    assert.equal(detectProtocol(b('GETTINGVERYLONGWORDWITHOUTSPACE')), 'opaque');
    assert.equal(detectProtocol(Buffer.alloc(0)), 'opaque', 'silence');
  });

  it("reads an HTTP/1.1 request's Host from its head, lower-cased", () => {
    assert.equal(
      requestHost(b('GET / HTTP/1.1\r\nAccept: */*\r\nHOST: Web:8080\r\n\r\n')),
      'web:8080',
    );
    assert.equal(requestHost(b('GET / HTTP/1.1\r\nHost: web\r\n')), undefined, 'head not complete');
    assert.equal(requestHost(b('GET / HTTP/1.0\r\nAccept: */*\r\n\r\n')), undefined, 'no Host');
    assert.equal(requestHost(b('GET / HTTP/1.1\r\nX-Host: web\r\n\r\n')), undefined);
  });

  it("Linkerd's default opaque ports", () => {
    assert.deepEqual(DEFAULT_OPAQUE_PORTS, [25, 587, 3306, 4444, 5432, 6379, 9300, 11211]);
  });

  it('readFirstBytes: the first chunk of a client-first peer, nothing from a silent one', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const first = (onConnect: (c: net.Socket) => void) =>
      new Promise<{ first: Buffer; rest: string }>((resolve) => {
        server.once('connection', (s) =>
          readFirstBytes(s, 50, (chunk) => {
            // What follows is still there for whoever takes the socket over.
            let rest = '';
            s.setEncoding('latin1').on('data', (d: string) => {
              rest += d;
            });
            s.on('end', () => resolve({ first: chunk, rest }));
            s.write('greeting');
          }),
        );
        const c = net.connect(port, '127.0.0.1', () => onConnect(c));
        c.on('data', () => c.end('after'));
      });
    try {
      const talker = await first((c) => c.write('hello'));
      assert.equal(talker.first.toString(), 'hello');
      assert.equal(talker.rest, 'after');
      const silent = await first(() => {});
      assert.equal(silent.first.length, 0);
      assert.equal(silent.rest, 'after', 'the server spoke first and the client answered');
    } finally {
      server.close();
    }
  });
});
