/**
 * A socket with bytes already read from it put back in front, as a Duplex. Protocol
 * detection has to read the first bytes; node's HTTP/2 server reads from the socket's
 * native handle and would never see bytes put back with unshift(), so an HTTP/2
 * connection is handed over through this wrapper instead.
 */

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { carryRawSocket } from './raw-socket.js';

export class PrefixedSocket extends Duplex {
  constructor(
    private readonly socket: Socket,
    first: Buffer,
  ) {
    super({ allowHalfOpen: false });
    carryRawSocket(this, socket);
    this.push(first);
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /** True over TLS: the peer's identity comes from the TLS socket underneath. */
  get encrypted(): boolean {
    return (this.socket as TLSSocket).encrypted === true;
  }

  getPeerCertificate(detailed?: boolean): PeerCertificate | object {
    return (this.socket as TLSSocket).getPeerCertificate?.(detailed) ?? {};
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms, cb);
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, encoding, cb);
  }

  /**
   * The callback rides on the last chunk: the socket completes writes in order, so it fires
   * once all of them reached the kernel. Calling it at once would tell node's HTTP/2 session
   * that the socket took everything, and a peer with huge flow-control windows that stops
   * reading would then have the whole response buffered here instead of the upstream paused.
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    const last = chunks.length - 1;
    this.socket.cork();
    for (let i = 0; i < last; i++) this.socket.write(chunks[i].chunk);
    this.socket.write(chunks[last].chunk, cb);
    this.socket.uncork();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }
}
