/**
 * Replies the proxy makes itself (no route, no healthy upstream, timeouts...) on an HTTP
 * response object (node's HTTP/1.1 and HTTP/2, the fast path's), each built from its
 * failure's entry in the one table (src/proxy/failure). gRPC requests get the entry's gRPC
 * status in a trailers-only response instead of an HTTP error.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import { type Failure, grpcStatusOf, plainReplyFields } from '../failure/index.js';
import { H2Response, resetStream } from '../listener/index.js';
import type { Refusal } from '../stack/index.js';

/**
 * What the data path needs of a downstream response; node's ServerResponse, the HTTP/2
 * listener's H2Response and the fast path's FastResponse all have it.
 */
export interface DownstreamResponse {
  readonly headersSent: boolean;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer | string): boolean;
  end(): unknown;
  end(chunk: Buffer | string): unknown;
  destroy(): void;
  once(event: 'close' | 'drain', listener: (this: never) => void): unknown;
}

/**
 * grpc-message is percent-encoded as the gRPC protocol says: only bytes outside printable
 * ASCII, and '%' itself. (encodeURIComponent would also encode ':' and '/', which clients
 * that decode with decodeURI, grpc-js among them, show as %3A and %2F.)
 * https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md#responses
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length && plain; i++) {
    const c = message.charCodeAt(i);
    plain = c >= 0x20 && c <= 0x7e && c !== 0x25;
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function isGrpcRequest(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('application/grpc');
}

const INTERNAL_ERROR = http2.constants.NGHTTP2_INTERNAL_ERROR;

/**
 * Ends a response that cannot be completed so that the client sees it was cut: HTTP/1.1
 * loses its connection; an HTTP/2 stream is reset with INTERNAL_ERROR (RFC 9113 §8.1: a
 * stream closed without END_STREAM is incomplete). Destroying an HTTP/2 response without
 * an error would send RST_STREAM(NO_ERROR), which clients take for a clean end.
 */
export function resetResponse(res: DownstreamResponse): void {
  if (res instanceof H2Response) {
    if (!res.stream.destroyed) resetStream(res.stream, INTERNAL_ERROR);
    return;
  }
  res.destroy();
}

/**
 * Sends the local reply of `failure`, unless a response has already started (then the
 * stream is reset). `body`, `status` and `grpcStatus` replace the table's where the
 * configuration or the request chose them.
 */
export function sendLocalReply(
  res: DownstreamResponse,
  failure: Failure,
  grpc: boolean,
  flags: string,
  body: string = failure.body,
  status: number = failure.httpStatus,
  grpcStatus?: number,
): void {
  if (res.headersSent) {
    resetResponse(res);
    return;
  }
  if (grpc) {
    const headers = {
      'content-type': 'application/grpc',
      'grpc-status': String(grpcStatusOf(failure, status, grpcStatus)),
      'grpc-message': encodeGrpcMessage(body),
      ...(flags ? { 'x-ferry-response-flags': flags } : {}),
    };
    if (res instanceof H2Response && !res.stream.headersSent) {
      res.stream.respond({ ':status': 200, ...headers }, { endStream: true });
      return;
    }
    res.writeHead(200, headers);
    res.end();
    return;
  }
  res.writeHead(status, plainReplyFields(Buffer.byteLength(body), flags));
  res.end(body);
}

/** Answers a request the route or concrete layer refused (a fault's gRPC status: gRPC). */
export function sendRefusal(res: DownstreamResponse, r: Refusal, grpc: boolean): void {
  const asGrpc = grpc || r.grpcStatus !== undefined;
  sendLocalReply(res, r.failure, asGrpc, r.flags, r.detail, r.status, r.grpcStatus);
}
