/**
 * Generated HTTP/2 client connections for the frame fuzzer: after the preface, a random
 * sequence of requests (HEADERS split over CONTINUATION, padded, with priority; bodies in
 * DATA), and the frames attacks and broken clients send: SETTINGS with out-of-range values,
 * RST_STREAM floods (rapid reset), CONTINUATION floods, zero and overflowing
 * WINDOW_UPDATEs, PINGs and SETTINGS ACKs of the wrong size, self-dependent PRIORITY,
 * client PUSH_PROMISE, unknown frame types, even, reused and zero stream ids, frame
 * headers that lie about their length.
 */

import {
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FrameType,
  frame,
  headerBlock,
  settings,
  u32,
} from '../support/h2-frames.js';
import type { SeededRandom } from '../support/seeded-random.js';

const SETTINGS_VALUES = [
  0, 1, 100, 16_383, 16_384, 65_535, 65_536, 16_777_215, 16_777_216, 0x7fffffff, 0x80000000,
  0xffffffff,
];

/** Header lists, well-formed or broken as RFC 9113 §8.2 and §8.3 forbid. */
function requestHeaders(rng: SeededRandom, path: string, body: boolean): Array<[string, string]> {
  const h: Array<[string, string]> = [
    [':method', body ? 'POST' : 'GET'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'fuzz:8080'],
  ];
  switch (rng.int(12)) {
    case 0:
      h.push(['connection', 'keep-alive']);
      break;
    case 1:
      h.push(['te', 'gzip']);
      break;
    case 2:
      h.push(['X-Upper', '1']);
      break;
    case 3:
      h.splice(1, 0, ['x-before', 'pseudo']);
      break;
    case 4:
      h.push([':path', '/dup']);
      break;
    case 5:
      h.push(['content-length', String(rng.int(100))]);
      break;
    case 6:
      h.push(['x-ctl', 'a\r\nb\0c']);
      break;
    case 7:
      h.splice(rng.int(h.length), 1);
      break;
    case 8:
      h.push(['x-big', 'v'.repeat(rng.between(1000, 20_000))]);
      break;
    case 9:
      h.push(['host', 'other:1']);
      break;
  }
  return h;
}

export function generateH2(rng: SeededRandom, token: string): Buffer {
  const out: Buffer[] = [];
  if (rng.chance(0.9)) {
    const params: Array<[number, number]> = [];
    for (let i = rng.int(4); i > 0; i--)
      params.push([rng.between(0, 9), rng.pick(SETTINGS_VALUES)]);
    out.push(settings(params));
  }
  const open: number[] = [];
  let nextStream = 1;
  const newStream = () => {
    const r = rng.int(20);
    // Mostly the next odd id; sometimes even, zero, reused or going backwards.
    const id =
      r === 0
        ? 2 * rng.between(1, 5)
        : r === 1
          ? 0
          : r === 2 && open.length
            ? rng.pick(open)
            : nextStream;
    if (id === nextStream) nextStream += 2;
    return id;
  };
  const ops = rng.between(1, 10);
  for (let i = 0; i < ops; i++) {
    switch (rng.int(14)) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const id = newStream();
        const body = rng.chance(0.4);
        const block = headerBlock(requestHeaders(rng, `/fz/${token}/${id}`, body));
        let flags = body ? 0 : FLAG_END_STREAM;
        let payload = block;
        if (rng.chance(0.15)) {
          const pad = rng.int(20);
          flags |= FLAG_PADDED;
          payload = Buffer.concat([Buffer.from([pad]), payload, Buffer.alloc(pad)]);
        }
        if (rng.chance(0.15)) {
          flags |= FLAG_PRIORITY;
          const dep = rng.chance(0.3) ? id : rng.int(10);
          payload = Buffer.concat([
            u32(dep | (rng.chance(0.3) ? 0x80000000 : 0)),
            Buffer.from([rng.int(256)]),
            payload,
          ]);
        }
        if (rng.chance(0.25) && block.length > 2) {
          // The block split over HEADERS and CONTINUATION; sometimes never finished.
          const cut = rng.between(1, payload.length - 1);
          out.push(frame(FrameType.HEADERS, flags, id, payload.subarray(0, cut)));
          out.push(
            frame(
              FrameType.CONTINUATION,
              rng.chance(0.85) ? FLAG_END_HEADERS : 0,
              id,
              payload.subarray(cut),
            ),
          );
        } else out.push(frame(FrameType.HEADERS, flags | FLAG_END_HEADERS, id, payload));
        open.push(id);
        if (body && rng.chance(0.8))
          out.push(frame(FrameType.DATA, FLAG_END_STREAM, id, Buffer.from(`body ${token}`)));
        break;
      }
      case 4: {
        const id = open.length ? rng.pick(open) : rng.int(8);
        const data = Buffer.alloc(rng.pick([0, 1, 100, 16_384, 70_000]), 0x61);
        out.push(frame(FrameType.DATA, rng.chance(0.5) ? FLAG_END_STREAM : 0, id, data));
        break;
      }
      case 5: {
        // Rapid reset (CVE-2023-44487): open and cancel streams as fast as possible.
        for (let k = rng.between(10, 300); k > 0; k--) {
          const id = nextStream;
          nextStream += 2;
          out.push(
            frame(
              FrameType.HEADERS,
              FLAG_END_HEADERS | FLAG_END_STREAM,
              id,
              headerBlock(requestHeaders(rng, `/fz/${token}/${id}`, false)),
            ),
          );
          out.push(frame(FrameType.RST_STREAM, 0, id, u32(8)));
        }
        break;
      }
      case 6: {
        // CONTINUATION flood: a header block that never ends.
        const id = newStream();
        out.push(
          frame(
            FrameType.HEADERS,
            FLAG_END_STREAM,
            id,
            headerBlock(requestHeaders(rng, `/fz/${token}/${id}`, false)),
          ),
        );
        for (let k = rng.between(10, 200); k > 0; k--)
          out.push(
            frame(FrameType.CONTINUATION, 0, id, headerBlock([[`x-c${k}`, 'v'.repeat(100)]])),
          );
        break;
      }
      case 7:
        out.push(
          frame(
            FrameType.WINDOW_UPDATE,
            0,
            open.length && rng.chance(0.5) ? rng.pick(open) : 0,
            u32(rng.pick([0, 1, 0x7fffffff, 0xffffffff])),
          ),
        );
        break;
      case 8:
        out.push(
          frame(
            FrameType.PING,
            rng.chance(0.2) ? FLAG_ACK : 0,
            rng.chance(0.1) ? 1 : 0,
            rng.bytes(rng.chance(0.8) ? 8 : rng.int(12)),
          ),
        );
        break;
      case 9:
        out.push(
          frame(FrameType.SETTINGS, FLAG_ACK, 0, rng.chance(0.5) ? Buffer.alloc(0) : rng.bytes(6)),
        );
        break;
      case 10: {
        const id = open.length ? rng.pick(open) : 1;
        out.push(
          frame(
            FrameType.PRIORITY,
            0,
            id,
            Buffer.concat([u32(rng.chance(0.5) ? id : 0), Buffer.from([16])]),
          ),
        );
        break;
      }
      case 11:
        out.push(
          rng.chance(0.5)
            ? frame(
                FrameType.PUSH_PROMISE,
                FLAG_END_HEADERS,
                1,
                Buffer.concat([u32(2), headerBlock([[':path', '/']])]),
              )
            : frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(rng.int(10)), u32(rng.int(14))])),
        );
        break;
      case 12:
        out.push(frame(rng.between(10, 255), rng.int(256), rng.int(4), rng.bytes(rng.int(20))));
        break;
      default: {
        // A frame whose header lies about its length.
        const payload = rng.bytes(rng.int(30));
        out.push(
          frame(
            rng.int(10),
            rng.int(256),
            rng.int(4),
            payload,
            rng.pick([0, payload.length + 1, 16_385, 0xffffff]),
          ),
        );
        break;
      }
    }
  }
  return Buffer.concat(out);
}

/** Dictionary for mutating frame bytes: frame headers and HPACK fragments. */
export const H2_DICTIONARY: readonly Buffer[] = [
  frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)),
  frame(FrameType.SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)),
  frame(FrameType.RST_STREAM, 0, 1, u32(8)),
  frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)),
  frame(FrameType.CONTINUATION, FLAG_END_HEADERS, 1, Buffer.alloc(0)),
  Buffer.from([0x00, 0x00, 0x00]),
  Buffer.from([0xff, 0xff, 0xff]),
  Buffer.from([0x7f, 0xff, 0xff, 0xff]),
  Buffer.from([0x80, 0x00, 0x00, 0x01]),
  Buffer.from([0x3f, 0xe1, 0x1f]),
  Buffer.from([0xbe]),
  Buffer.from([0x20]),
];
