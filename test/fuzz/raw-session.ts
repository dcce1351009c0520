/**
 * One fuzz exchange over a bare TCP socket: the input written whole, byte by byte or in
 * random pieces, and the client's side ended at a random point: half-closed after the
 * input, closed or reset part-way through it, reset as the response starts, or left open
 * until the answers stop coming.
 */
import net from 'node:net';
import type { SeededRandom } from '../support/seeded-random.js';
import { sleep } from '../support/wait-for.js';

export type ClientEnd = 'end' | 'wait' | 'close' | 'reset' | 'reset-on-response';

export interface ClientPlan {
  readonly end: ClientEnd;
  /** How many input bytes are sent before a close or reset part-way. */
  readonly at: number;
  readonly chunking: 'whole' | 'bytes' | 'pieces';
}

export function planClient(rng: SeededRandom, length: number): ClientPlan {
  const end = rng.pick<ClientEnd>(['end', 'wait', 'wait', 'close', 'reset', 'reset-on-response']);
  return {
    end,
    at: end === 'close' || end === 'reset' ? rng.int(length + 1) : length,
    chunking: rng.pick(['whole', 'whole', 'bytes', 'pieces']),
  };
}

export function describePlan(plan: ClientPlan): string {
  return `${plan.end}${plan.end === 'close' || plan.end === 'reset' ? `@${plan.at}` : ''}/${plan.chunking}`;
}

/** Longest a case waits for the server to answer or close. */
const CASE_MS = 1000;
/** The answers have stopped when nothing came for this long. */
const QUIET_MS = 40;

/** Plays `input` to 127.0.0.1:port as planned; resolves with every byte received. */
export async function playRaw(
  port: number,
  input: Buffer,
  plan: ClientPlan,
  rng: SeededRandom,
  /** Bytes written first, whole (a protocol preface the fuzzing should not break). */
  preface?: Buffer,
): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  let closed = false;
  let lastData = 0;
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    lastData = performance.now();
  });
  socket.on('error', () => undefined);
  const closedP = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  const connected = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  if (!connected) return Buffer.concat(chunks);
  if (preface) socket.write(preface);
  const bytes = input.subarray(0, plan.at);
  if (plan.chunking === 'whole') socket.write(bytes);
  else {
    // Byte by byte for the first 256 bytes (the head, where the parser's state is), then
    // the rest in one piece; or random pieces of 1..64 bytes throughout.
    let i = 0;
    while (i < bytes.length && !closed) {
      const n = plan.chunking === 'bytes' ? (i < 256 ? 1 : bytes.length - i) : rng.between(1, 64);
      socket.write(bytes.subarray(i, i + n));
      i += n;
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  const started = performance.now();
  switch (plan.end) {
    case 'close':
      socket.destroy();
      break;
    case 'reset':
      socket.resetAndDestroy();
      break;
    case 'end':
      socket.end();
      await Promise.race([closedP, sleep(CASE_MS)]);
      break;
    case 'reset-on-response':
      while (!closed && chunks.length === 0 && performance.now() - started < CASE_MS)
        await sleep(2);
      if (!closed) socket.resetAndDestroy();
      break;
    case 'wait':
      while (!closed && performance.now() - started < CASE_MS) {
        const now = performance.now();
        if (now - started > 2 * QUIET_MS && now - Math.max(lastData, started) > QUIET_MS) break;
        await sleep(5);
      }
      break;
  }
  socket.destroy();
  await closedP;
  return Buffer.concat(chunks);
}
