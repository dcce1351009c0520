/** The gateway's tls_inspector: the SNI of real ClientHellos (node's TLS client), whole or in pieces. */
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { parseClientHello } from '../../../src/proxy/listener/index.js';

/** The first bytes a real TLS client sends, with `servername` (none when undefined). */
async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) => s.once('data', (d: Buffer) => resolve(d))),
  );
  const client = tls.connect({
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: false,
  });
  client.on('error', () => undefined);
  const bytes = await got;
  client.destroy();
  server.close();
  return bytes;
}

describe('ClientHello SNI', () => {
  it('reads the server name of a real ClientHello, lower-cased', async () => {
    const hello = await clientHello('Shop.Example.TEST');
    assert.deepEqual(parseClientHello(hello), { kind: 'hello', sni: 'shop.example.test' });
  });

  it('a ClientHello without SNI is complete, with no name', async () => {
    // node sends no server_name for an IP literal host (RFC 6066 §3).
    const hello = await clientHello(undefined);
    assert.deepEqual(parseClientHello(hello), { kind: 'hello', sni: undefined });
  });

  it('asks for more until the record is complete, at every split point', async () => {
    const hello = await clientHello('a.example.test');
    for (let cut = 0; cut < hello.length; cut++)
      assert.equal(parseClientHello(hello.subarray(0, cut)).kind, 'partial', `cut at ${cut}`);
  });

  it('plaintext HTTP and garbage are not TLS', () => {
    assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'not-tls');
    assert.equal(parseClientHello(Buffer.from([0x16, 0x09, 0x01])).kind, 'not-tls');
    // A handshake record whose message is not a ClientHello (a ServerHello, type 2).
    assert.equal(parseClientHello(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0])).kind, 'not-tls');
  });

  it('a ClientHello split over two records is read whole (RFC 8446 §5.1 allows it)', async () => {
    const hello = await clientHello('split.example.test');
    const body = hello.subarray(5);
    const half = Math.floor(body.length / 2);
    const record = (part: Buffer) =>
      Buffer.concat([Buffer.from([0x16, 3, 1, part.length >> 8, part.length & 0xff]), part]);
    const two = Buffer.concat([record(body.subarray(0, half)), record(body.subarray(half))]);
    assert.equal(parseClientHello(two.subarray(0, 5 + half + 3)).kind, 'partial');
    assert.deepEqual(parseClientHello(two), { kind: 'hello', sni: 'split.example.test' });
  });
});
