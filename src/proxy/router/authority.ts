/** The authority of a request: `host[:port]`, with IPv6 literals in brackets (RFC 3986 §3.2.2). */

/** Where the port of an authority starts (its ':'), or -1 when it has none. */
export function portStart(authority: string): number {
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return -1;
  const bracket = authority.lastIndexOf(']');
  return bracket < colon ? colon : -1;
}
