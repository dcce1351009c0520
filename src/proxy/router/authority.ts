/** The authority of a request: `host[:port]`, with IPv6 literals in brackets (RFC 3986 §3.2.2). */

/** Where the port of an authority starts (its ':'), or -1 when it has none. */
export function portStart(authority: string): number {
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return -1;
  const bracket = authority.lastIndexOf(']');
  return bracket < colon ? colon : -1;
}

/**
 * The authority of a shadow (mirrored) request: `-shadow` appended to the host, before the
 * port, as Envoy does, so the mirror's logs tell copies from originals.
 */
export function shadowAuthority(authority: string): string {
  const port = portStart(authority);
  return port < 0
    ? `${authority}-shadow`
    : `${authority.slice(0, port)}-shadow${authority.slice(port)}`;
}
