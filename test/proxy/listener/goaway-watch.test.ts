/** Finding a GOAWAY with an error code in the frames a server writes, however they are cut. */
import assert from 'node:assert/strict';
import { GoawayWatch } from '../../../src/proxy/listener/goaway-watch.js';
import { FrameType, frame, settings, u32 } from '../../support/h2-frames.js';

const goaway = (code: number, debug = '') =>
  frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(1), u32(code), Buffer.from(debug)]));

/** The codes found feeding `bytes` in pieces of `size` bytes. */
function found(bytes: Buffer, size: number): number[] {
  const watch = new GoawayWatch();
  const codes: number[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    const code = watch.feed(bytes.subarray(i, i + size));
    if (code >= 0) codes.push(code);
  }
  return codes;
}

describe('GoawayWatch', () => {
  // A DATA payload that holds a whole GOAWAY frame's bytes must not be read as one.
  const lookalike = frame(FrameType.DATA, 0, 1, Buffer.concat([goaway(2), Buffer.alloc(20_000)]));
  const stream = Buffer.concat([
    settings([[3, 100]]),
    frame(FrameType.HEADERS, 4, 1, Buffer.from([0x88])),
    lookalike,
    goaway(0, 'graceful'),
    frame(FrameType.PING, 1, 0, Buffer.alloc(8)),
    goaway(6, 'too large frame size'),
  ]);

  it('reports a GOAWAY with an error code once, whatever the write sizes', () => {
    for (const size of [1, 2, 7, 9, 16, 17, 1000, stream.length])
      assert.deepEqual(found(stream, size), [6], `pieces of ${size} bytes`);
  });

  it('ignores a graceful GOAWAY (NO_ERROR) and payloads that look like frames', () => {
    const graceful = Buffer.concat([settings([]), lookalike, goaway(0)]);
    for (const size of [1, 9, graceful.length]) assert.deepEqual(found(graceful, size), []);
  });
});
