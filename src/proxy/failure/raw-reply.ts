/**
 * A local reply written straight to a socket, as HTTP/1.1, for the paths that own the bytes
 * before any HTTP response object exists (an upgrade or CONNECT node handed over, a request
 * the fast path refused while parsing it). The connection closes after it.
 */
import { STATUS_CODES } from 'node:http';

/** The head fields of a plain-text local reply (its flags when there are any). */
export function plainReplyFields(
  bodyLength: number,
  flags: string,
): Record<string, string | number> {
  return flags
    ? {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': bodyLength,
        'x-ferry-response-flags': flags,
      }
    : { 'content-type': 'text/plain; charset=utf-8', 'content-length': bodyLength };
}

/** The whole response: status line, fields, `connection: close`, and the body (one line). */
export function rawReply(status: number, body: string, flags: string): string {
  const text = `${body}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  const fields = plainReplyFields(Buffer.byteLength(text), flags);
  for (const name in fields) head += `${name}: ${fields[name]}\r\n`;
  return `${head}connection: close\r\n\r\n${text}`;
}
