/** What one run of a probe found: passed or not, and a line saying why, for the answer's body. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** `host:port`, with an IPv6 literal in brackets (RFC 3986 §3.2.2). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
