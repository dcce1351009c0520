/**
 * Raw HTTP/2 frames (RFC 9113 §4), for the frame fuzzer and the abuse bench: an encoder for every frame type,
 * header blocks in HPACK (RFC 7541) literals and static-table indexes, without Huffman
 * coding, and a lenient reader of what a server sends back.
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

/** A frame; `length` overrides the length field (a frame that lies about its size). */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer,
  length?: number,
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length ?? payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, payload]);
}

export function settings(params: ReadonlyArray<readonly [number, number]>): Buffer {
  const p = Buffer.alloc(params.length * 6);
  params.forEach(([id, value], i) => {
    p.writeUInt16BE(id & 0xffff, i * 6);
    p.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** An HPACK integer with an n-bit prefix (RFC 7541 §5.1), first byte's high bits from `high`. */
function hpackInt(value: number, prefixBits: number, high: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [high | value];
  const out = [high | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Static table entries (RFC 7541 Appendix A) a request uses, by "name: value". */
const STATIC: Record<string, number> = {
  ':method: GET': 2,
  ':method: POST': 3,
  ':path: /': 4,
  ':scheme: http': 6,
  ':scheme: https': 7,
};

/** A header block: static-table indexes where the pair is in the table, else literals without indexing. */
export function headerBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const index = STATIC[`${name}: ${value}`];
    if (index !== undefined) {
      out.push(...hpackInt(index, 7, 0x80));
      continue;
    }
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    out.push(0x00, ...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v);
  }
  return Buffer.from(out);
}

export interface ServerFrame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

/** The frames in what a server sent (its bytes start with frames; a partial last frame is dropped). */
export function readFrames(bytes: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (at + 9 <= bytes.length) {
    const length = bytes.readUIntBE(at, 3);
    if (at + 9 + length > bytes.length) break;
    frames.push({
      type: bytes[at + 3],
      flags: bytes[at + 4],
      stream: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      payload: bytes.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return frames;
}
