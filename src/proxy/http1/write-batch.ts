/**
 * Writes gathered per event-loop turn. A socket written to during a turn's I/O callbacks
 * is corked, and every such socket is uncorked once when they are done (setImmediate runs
 * right after the poll phase). Bytes leave in the same order, backpressure is unchanged
 * (`write` still answers from the socket's buffer), and at one request per turn nothing
 * waits. Under load it changes what the kernel does: on loopback a write system call
 * carries the peer's receive path and, when the peer sleeps in epoll, its wake-up; written
 * one response at a time, a peer faster than the proxy is woken for every response, while
 * a turn's worth of writes wakes it once and finds it running for the rest.
 */
import type { Writable } from 'node:stream';

let corked: Writable[] = [];
let scheduled = false;

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  scheduled = false;
  for (let i = 0; i < sockets.length; i++) sockets[i]!.uncork();
}

/** Writes `chunk` (a latin1 string or bytes) to `socket`, sent at the end of this turn. */
export function batchWrite(socket: Writable, chunk: Buffer | string): boolean {
  if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
    if (!scheduled) {
      scheduled = true;
      setImmediate(uncorkAll);
    }
  }
  return typeof chunk === 'string' ? socket.write(chunk, 'latin1') : socket.write(chunk);
}
