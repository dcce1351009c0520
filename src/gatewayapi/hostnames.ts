/**
 * Hostname intersection between a listener and a route, as the Gateway API defines it: a
 * wildcard `*.example.com` stands for one or more labels in front of `example.com` (not for
 * `example.com` itself), and where both sides match, the more specific name is the one
 * traffic is routed on.
 * https://gateway-api.sigs.k8s.io/reference/spec/#httproutespec (hostnames)
 */

function isWildcard(h: string): boolean {
  return h.startsWith('*.');
}

/** `*.example.com` covers `a.example.com` and `a.b.example.com`; a name covers itself. */
export function covers(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!isWildcard(pattern)) return false;
  const suffix = pattern.slice(1); // '.example.com'
  const rest = isWildcard(host) ? host.slice(1) : host;
  return rest.length > suffix.length && rest.endsWith(suffix);
}

/**
 * The hostnames a route serves on a listener: the route's own, narrowed by the listener's.
 * `undefined` listener hostname: any; an empty route list: the listener's (or `*`).
 * An empty result means the route does not attach (NoMatchingListenerHostname).
 */
export function intersectHostnames(
  listenerHostname: string | undefined,
  routeHostnames: readonly string[],
): string[] {
  if (routeHostnames.length === 0) return [listenerHostname ?? '*'];
  if (listenerHostname === undefined) return [...new Set(routeHostnames)];
  const out = new Set<string>();
  for (const h of routeHostnames) {
    if (covers(listenerHostname, h)) out.add(h);
    else if (covers(h, listenerHostname)) out.add(listenerHostname);
  }
  return [...out];
}
