/**
 * The authority and path of an HTTP/1.1 request target: origin form (`/path`, authority from
 * Host) or absolute form (`http://host:port/path`), which HTTP_PROXY clients send.
 */
export function splitTarget(
  url: string,
  host: string | undefined,
): [authority: string, path: string] {
  if (url.charCodeAt(0) === 47 /* '/' */) return [host ?? '', url];
  if (url.startsWith('http://')) {
    const slash = url.indexOf('/', 7);
    return slash < 0 ? [url.slice(7), '/'] : [url.slice(7, slash), url.slice(slash)];
  }
  return [host ?? '', url];
}
