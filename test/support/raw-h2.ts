/**
 * One HTTP/2 request with header bytes no HTTP/2 library would send (controls in :path or
 * in values, bad names): the frames are written by hand over h2c with prior knowledge, the
 * header block as HPACK literals without indexing (RFC 7541 §6.2.2), no Huffman coding.
 * What comes back is reduced to what a test asserts on: the response status when it is one
 * of HPACK's static-table statuses, a reset of the stream, or a GOAWAY.
 */
import net from 'node:net';

export interface RawH2Outcome {
  /** :status from a static-table entry (200, 204, 206, 304, 400, 404, 500); 0 otherwise. */
  readonly status: number;
  /** RST_STREAM's error code for stream 1, or undefined. */
  readonly reset: number | undefined;
  /** GOAWAY's error code, or undefined. */
  readonly goaway: number | undefined;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const STATIC_STATUS: Record<number, number> = {
  136: 200,
  137: 204,
  138: 206,
  139: 304,
  140: 400,
  141: 404,
  142: 500,
};

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with a 7-bit prefix (RFC 7541 §5.1), H bit clear. */
function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  let rest = n - 127;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0]), hpackLength(n.length), n, hpackLength(v.length), v]);
}

/** Sends one GET with `headers` (pseudo-headers first, as given) on stream 1. */
export function rawH2Request(
  port: number,
  headers: ReadonlyArray<readonly [string, string]>,
  ms = 3000,
): Promise<RawH2Outcome> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let status = 0;
    let reset: number | undefined;
    let goaway: number | undefined;
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ status, reset, goaway });
    };
    const timer = setTimeout(done, ms);
    s.on('error', () => undefined);
    s.on('close', done);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) return;
        const type = buf[3];
        const flags = buf[4];
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + length);
        buf = buf.subarray(9 + length);
        if (type === 4 && (flags & 1) === 0) s.write(frame(4, 1, 0, Buffer.alloc(0))); // ACK
        if (type === 1 && stream === 1) {
          const padded = (flags & 0x8) !== 0 ? 1 : 0;
          const priority = (flags & 0x20) !== 0 ? 5 : 0;
          status = STATIC_STATUS[payload[padded + priority]] ?? 0;
          if (flags & 1) return done();
        }
        if (type === 0 && stream === 1 && flags & 1) return done();
        if (type === 3 && stream === 1) {
          reset = payload.readUInt32BE(0);
          return done();
        }
        if (type === 7) {
          goaway = payload.readUInt32BE(4);
          return done();
        }
      }
    });
    const block = Buffer.concat(headers.map(([n, v]) => literal(n, v)));
    s.write(
      Buffer.concat([
        PREFACE,
        frame(4, 0, 0, Buffer.alloc(0)),
        frame(1, 0x1 | 0x4, 1, block), // END_STREAM | END_HEADERS
      ]),
    );
  });
}
