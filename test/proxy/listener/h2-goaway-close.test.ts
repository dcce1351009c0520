/**
 * Regression (found by the HTTP/2 frame fuzzer): after a connection error nghttp2 detects
 * itself (here a DATA frame longer than SETTINGS_MAX_FRAME_SIZE, RFC 9113 §4.2), node's
 * session sent GOAWAY(FRAME_SIZE_ERROR) and stopped reading, but never closed the
 * connection nor told the listener: the client's FIN was never read and the listener's
 * socket stayed in CLOSE_WAIT with its descriptor for good (or, after a client's reset, in no
 * TCP table), with or without a stream open. RFC 9113 §5.4.1: after a GOAWAY for an error
 * the endpoint MUST close the connection. Each case reads the socket's TCP state from
 * /proc/net/tcp.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import {
  DEFAULT_LIMITS,
  type H2Response,
  type HttpListener,
  type LimitName,
  listenHttp,
} from '../../../src/proxy/listener/index.js';
import {
  FLAG_END_HEADERS,
  FrameType,
  frame,
  headerBlock,
  PREFACE,
  readFrames,
  settings,
} from '../../support/h2-frames.js';
import { tcpSocketsIn } from '../../support/process-usage.js';
import { waitFor } from '../../support/wait-for.js';

const FRAME_SIZE_ERROR = http2.constants.NGHTTP2_FRAME_SIZE_ERROR;

interface Client {
  readonly socket: net.Socket;
  received(): Buffer;
  closed(): boolean;
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, received: () => Buffer.concat(chunks), closed: () => closed };
}

/** Writes `bytes` one at a time, each in its own turn. */
async function dribble(socket: net.Socket, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    socket.write(bytes.subarray(i, i + 1));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The error code of the GOAWAY the client received, if any. */
function goawayCode(c: Client): number | undefined {
  const goaway = readFrames(c.received()).find((f) => f.type === FrameType.GOAWAY);
  return goaway?.payload.readUInt32BE(4);
}

describe('regression: the listener closes an HTTP/2 connection after its own GOAWAY for an error', function () {
  this.timeout(20_000);
  let listener: HttpListener;
  let hits: LimitName[];
  let accepted: net.Socket[];
  let held: number;

  beforeEach(async () => {
    hits = [];
    accepted = [];
    held = 0;
    listener = await listenHttp(
      '127.0.0.1',
      0,
      (req, res) => {
        if (req.url === '/hold') held++;
        else (res as H2Response).end('ok');
      },
      {
        limits: DEFAULT_LIMITS,
        limitHit: (n) => hits.push(n),
        accept: (socket) => {
          accepted.push(socket);
          return false;
        },
      },
    );
  });
  afterEach(async () => {
    await listener.close(0);
  });

  const closeWait = () => tcpSocketsIn(process.pid, listener.port, 'CLOSE_WAIT');

  /** The client's preface, optionally a request left unanswered, then an oversized frame. */
  async function frameSizeError(c: Client, holdStream: boolean): Promise<void> {
    c.socket.write(Buffer.concat([PREFACE, settings([])]));
    if (holdStream) {
      const request = headerBlock([
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/hold'],
        [':authority', 'api'],
      ]);
      c.socket.write(frame(FrameType.HEADERS, FLAG_END_HEADERS | 0x1, 1, request));
      await waitFor('the held request reached the handler', () => held === 1);
    }
    // A 70,000-byte DATA frame (the maximum is 16,384 until the server says otherwise): its
    // first bytes one at a time, then the rest at once, as the fuzzer's client did.
    const oversized = frame(FrameType.DATA, 0, 3, Buffer.alloc(70_000, 0x61));
    await dribble(c.socket, oversized.subarray(0, 256));
    c.socket.write(oversized.subarray(256));
    await waitFor('GOAWAY from the listener', () => goawayCode(c) !== undefined);
    assert.equal(goawayCode(c), FRAME_SIZE_ERROR);
  }

  for (const holdStream of [false, true]) {
    const open = holdStream ? 'with a stream open' : 'with no stream';
    it(`${open}: the client's FIN leaves no socket in CLOSE_WAIT; counted as a protocol error`, async () => {
      const c = await connect(listener.port);
      await frameSizeError(c, holdStream);
      c.socket.end();
      await waitFor('the listener to close its side', c.closed);
      await waitFor(
        `no listener socket in CLOSE_WAIT (${closeWait()} left)`,
        () => closeWait() === 0 && accepted.every((s) => s.destroyed),
      );
      assert.deepEqual(hits, ['h2_protocol_error']);
    });
  }

  it("a client's reset after the GOAWAY: the listener lets the socket go", async () => {
    const c = await connect(listener.port);
    await frameSizeError(c, true);
    c.socket.resetAndDestroy();
    await waitFor('the accepted socket destroyed', () => accepted.every((s) => s.destroyed));
    assert.equal(closeWait(), 0);
  });

  it('a graceful client GOAWAY and close, or a served session, is not counted as an error', async () => {
    const s = http2.connect(`http://127.0.0.1:${listener.port}`);
    s.on('error', () => undefined);
    const body = await new Promise<string>((resolve) => {
      const req = s.request({ ':path': '/' });
      let text = '';
      req.on('data', (d: Buffer) => (text += d));
      req.on('close', () => resolve(text));
    });
    assert.equal(body, 'ok');
    s.goaway();
    s.close();
    await waitFor('the session closed', () => s.closed && s.destroyed);
    await waitFor('the accepted socket destroyed', () => accepted.every((a) => a.destroyed));
    assert.equal(closeWait(), 0);
    assert.deepEqual(hits, []);
  });
});
