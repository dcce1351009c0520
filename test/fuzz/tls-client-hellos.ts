/**
 * Seeds of the TLS record fuzzer: real ClientHellos, captured from node's TLS client as a
 * raw server receives them (TLS 1.3 and 1.2, with and without SNI and ALPN), and a
 * dictionary of record-layer fragments (content types, versions, lengths, alerts).
 */
import net from 'node:net';
import tls from 'node:tls';

/** The first flight of a TLS client with these options (its ClientHello record). */
function captureHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
      c.on('error', () => undefined);
      c.on('close', () => undefined);
      setTimeout(() => c.destroy(), 2000).unref();
    });
    server.on('error', reject);
  });
}

export function captureClientHellos(): Promise<Buffer[]> {
  return Promise.all([
    captureHello({
      ALPNProtocols: ['h2', 'http/1.1'],
      servername: 'fuzz-tls.default.svc.cluster.local',
    }),
    captureHello({ ALPNProtocols: ['http/1.1'] }),
    captureHello({ maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'] }),
    captureHello({
      maxVersion: 'TLSv1.2',
      minVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    }),
  ]);
}

/** Record-layer fragments: header bytes of each content type and version, alerts, lengths. */
export const TLS_DICTIONARY: readonly Buffer[] = [
  Buffer.from([0x16, 0x03, 0x01]),
  Buffer.from([0x16, 0x03, 0x03]),
  Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]),
  Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]),
  Buffer.from([0x17, 0x03, 0x03, 0x40, 0x00]),
  Buffer.from([0x18, 0x03, 0x03, 0x00, 0x03, 0x01, 0x00, 0x10]),
  Buffer.from([0x00, 0x00]),
  Buffer.from([0xff, 0xff]),
  Buffer.from([0x40, 0x01]),
  Buffer.from([0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]),
  Buffer.from([0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, 0x68, 0x32]),
  Buffer.from([0x00, 0x00, 0x00, 0x00]),
];

/** A record of a random content type and version around a random (or lying) length. */
export function garbageRecord(rng: import('../support/seeded-random.js').SeededRandom): Buffer {
  const body = rng.bytes(rng.pick([0, 1, 5, 100, 2000]));
  const head = Buffer.from([
    rng.pick([0x14, 0x15, 0x16, 0x17, 0x18, rng.int(256)]),
    0x03,
    rng.pick([0x00, 0x01, 0x03, 0x04, 0xff]),
    0,
    0,
  ]);
  head.writeUInt16BE(rng.chance(0.7) ? body.length : rng.pick([0, 0x4000, 0x4001, 0xffff]), 3);
  return Buffer.concat([head, body]);
}
