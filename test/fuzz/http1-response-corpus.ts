/**
 * Seeds and dictionary of the HTTP/1.1 response fuzzer: what an upstream may answer and
 * what a broken or hostile one does: interim responses, 101 without an upgrade, statuses
 * HTTP/2 cannot carry, close-delimited bodies, conflicting framing, bodies longer than
 * their Content-Length (bytes that would become the next response on a reused connection).
 * `T` is the case's token; every body carries it.
 */

const withLength = (head: string, body: string) =>
  `${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

export const RESPONSE_SEEDS: ReadonlyArray<(t: string) => string> = [
  (t) => withLength('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n', `fz:${t}`),
  (t) =>
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;a=b\r\nfz:\r\nc\r\n${t}\r\n0\r\nX-T: 1\r\n\r\n`,
  (t) => withLength('HTTP/1.1 204 No Content\r\n', '') + `fz:${t}`,
  (t) => `HTTP/1.1 304 Not Modified\r\nETag: "${t}"\r\nContent-Length: 10\r\n\r\n`,
  (t) => `HTTP/1.1 100 Continue\r\n\r\n${withLength('HTTP/1.1 200 OK\r\n', `fz:${t}`)}`,
  (t) =>
    `HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${withLength('HTTP/1.1 200 OK\r\n', `fz:${t}`)}`,
  (t) =>
    withLength(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n',
      `fz:${t}`,
    ),
  (t) => withLength('HTTP/1.1 600 Beyond\r\n', `fz:${t}`),
  (t) => withLength('HTTP/1.1 099 Below\r\n', `fz:${t}`),
  (t) => `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfz:${t} until close`,
  (t) =>
    `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nfz:${t}`,
  (t) => `HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Length: 16\r\n\r\nfz:${t}`,
  (t) => withLength('HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\n', `fz:${t}`),
  (t) => withLength('HTTP/1.1 200\r\n', `fz:${t}`),
  (t) => withLength(`HTTP/1.1 200 OK\r\n${'X-Many: 0123456789abcdef\r\n'.repeat(80)}`, `fz:${t}`),
  (t) =>
    `HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nfz:${t}HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled`,
  (t) => withLength('HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n', `fz:${t}`),
  (t) => withLength('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n', `fz:${t}`),
  (t) => withLength('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n', `fz:${t}`),
  (t) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nfz:${t}`,
];

export const RESPONSE_DICTIONARY: readonly string[] = [
  '\r\n',
  '\n',
  '\r',
  ' ',
  '\t',
  '\0',
  ':',
  'HTTP/1.1 ',
  'HTTP/1.0 ',
  'HTTP/2 ',
  '100 Continue\r\n\r\n',
  'Content-Length: ',
  'Content-Length: 0\r\n',
  'Transfer-Encoding: chunked\r\n',
  'Connection: close\r\n',
  'Connection: keep-alive\r\n',
  'Upgrade: h2c\r\n',
  '0\r\n\r\n',
  ';ext',
  '999',
  '1000',
  '\xff',
];
