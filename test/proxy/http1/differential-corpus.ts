/**
 * The corpus of the differential test (differential.test.ts): HTTP/1.1 requests and
 * responses, valid and malformed, each as the exact bytes sent. Every request case is
 * followed on the wire by a sentinel request, so where one message ends and the next starts
 * shows in what each parser makes of the bytes after it.
 */

export interface Case {
  readonly name: string;
  readonly bytes: string;
}

const H = 'Host: a\r\n';
const get = (target = '/', extra = '') => `GET ${target} HTTP/1.1\r\n${H}${extra}\r\n`;
const post = (fields: string, body: string) => `POST /p HTTP/1.1\r\n${H}${fields}\r\n${body}`;
const chunked = (body: string) => post('Transfer-Encoding: chunked\r\n', body);

export const REQUESTS: readonly Case[] = [
  // Framing (RFC 9112 §6)
  { name: 'GET, no body', bytes: get() },
  { name: 'Content-Length body', bytes: post('Content-Length: 5\r\n', 'hello') },
  { name: 'Content-Length 0', bytes: post('Content-Length: 0\r\n', '') },
  { name: 'Content-Length leading zeros', bytes: post('Content-Length: 005\r\n', 'hello') },
  { name: 'Content-Length with OWS', bytes: post('Content-Length:   5  \r\n', 'hello') },
  { name: 'Content-Length +5', bytes: post('Content-Length: +5\r\n', 'hello') },
  { name: 'Content-Length -1', bytes: post('Content-Length: -1\r\n', 'hello') },
  { name: 'Content-Length 0x5', bytes: post('Content-Length: 0x5\r\n', 'hello') },
  { name: 'Content-Length empty', bytes: post('Content-Length: \r\n', '') },
  { name: 'Content-Length list "5, 5"', bytes: post('Content-Length: 5, 5\r\n', 'hello') },
  {
    name: 'Content-Length twice, same value',
    bytes: post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'),
  },
  {
    name: 'Content-Length twice, different values',
    bytes: post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'),
  },
  {
    name: 'Content-Length overflow (20 digits)',
    bytes: post('Content-Length: 99999999999999999999\r\n', 'hello'),
  },
  {
    name: 'Content-Length shorter than the bytes sent',
    bytes: post('Content-Length: 3\r\n', 'hel'),
  },
  { name: 'chunked', bytes: chunked('5\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, three chunks', bytes: chunked('2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\n\r\n') },
  {
    name: 'chunked, size in upper case hex',
    bytes: chunked(`A\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`),
  },
  {
    name: 'chunked, size in lower case hex',
    bytes: chunked(`a\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`),
  },
  { name: 'chunked, size with leading zeros', bytes: chunked('0005\r\nhello\r\n0\r\n\r\n') },
  {
    name: 'chunked, 16 hex digits with leading zeros',
    bytes: chunked('0000000000000005\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'chunked, size overflow',
    bytes: chunked('fffffffffffffffffff\r\nhello\r\n0\r\n\r\n'),
  },
  { name: 'chunked, size 0x5', bytes: chunked('0x5\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, size -5', bytes: chunked('-5\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, empty size line', bytes: chunked('\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, extension', bytes: chunked('5;name=value\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, extension without value', bytes: chunked('5;name\r\nhello\r\n0\r\n\r\n') },
  {
    name: 'chunked, quoted extension value',
    bytes: chunked('5;name="a b"\r\nhello\r\n0\r\n\r\n'),
  },
  { name: 'chunked, space before extension', bytes: chunked('5 ;name\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, space after size', bytes: chunked('5 \r\nhello\r\n0\r\n\r\n') },
  {
    name: 'chunked, control character in extension',
    bytes: chunked('5;na\x01me\r\nhello\r\n0\r\n\r\n'),
  },
  { name: 'chunked, DEL in extension', bytes: chunked('5;name=\x7f\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, bare LF after size', bytes: chunked('5\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, bare LF after data', bytes: chunked('5\r\nhello\n0\r\n\r\n') },
  { name: 'chunked, bare CR after size', bytes: chunked('5\rhello\r\n0\r\n\r\n') },
  { name: 'chunked, data longer than size', bytes: chunked('3\r\nhello\r\n0\r\n\r\n') },
  { name: 'chunked, trailer', bytes: chunked('5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n') },
  { name: 'chunked, malformed trailer', bytes: chunked('5\r\nhello\r\n0\r\nbad\r\n\r\n') },
  {
    name: 'chunked and Content-Length',
    bytes: post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '5\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'Transfer-Encoding in upper case',
    bytes: post('Transfer-Encoding: CHUNKED\r\n', '5\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'Transfer-Encoding: chunked, chunked',
    bytes: post('Transfer-Encoding: chunked, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'Transfer-Encoding: gzip, chunked',
    bytes: post('Transfer-Encoding: gzip, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'Transfer-Encoding: gzip',
    bytes: post('Transfer-Encoding: gzip\r\n', '5\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'Transfer-Encoding twice (gzip, then chunked)',
    bytes: post(
      'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n',
      '5\r\nhello\r\n0\r\n\r\n',
    ),
  },
  {
    name: 'Transfer-Encoding: chunked folded onto a second line',
    bytes: post('Transfer-Encoding:\r\n chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'),
  },
  // HTTP/1.0 (node's server takes these on the fast path's listener too)
  { name: 'HTTP/1.0 GET', bytes: `GET / HTTP/1.0\r\n${H}\r\n` },
  {
    name: 'HTTP/1.0 keep-alive, then pipelined',
    bytes: `GET /1 HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`,
  },
  // Pipelining
  { name: 'three pipelined GETs', bytes: get('/1') + get('/2') + get('/3') },
  {
    name: 'pipelined GET, POST, chunked POST',
    bytes: get('/1') + post('Content-Length: 5\r\n', 'hello') + chunked('1\r\nx\r\n0\r\n\r\n'),
  },
  { name: 'Connection: close, then another', bytes: get('/1', 'Connection: close\r\n') + get() },
  // Line endings (RFC 9112 §2.2)
  { name: 'bare LF everywhere', bytes: 'GET / HTTP/1.1\nHost: a\n\n' },
  { name: 'bare LF after a header', bytes: 'GET / HTTP/1.1\r\nHost: a\nX-V: 1\r\n\r\n' },
  { name: 'bare LF at the end of the head', bytes: 'GET / HTTP/1.1\r\nHost: a\r\n\n' },
  { name: 'bare CR in a header value', bytes: get('/', 'X-V: a\rb\r\n') },
  { name: 'bare CR ending a header line', bytes: get('/', 'X-V: a\r\r\n') },
  { name: 'CRLF before the request line', bytes: `\r\n${get()}` },
  { name: 'CRLF between pipelined requests', bytes: `${get('/1')}\r\n${get('/2')}` },
  // Request line (RFC 9112 §3)
  { name: 'absolute-form target', bytes: get('http://a/x') },
  { name: 'asterisk-form OPTIONS', bytes: `OPTIONS * HTTP/1.1\r\n${H}\r\n` },
  { name: 'method llhttp knows beyond RFC 9110', bytes: `PURGE / HTTP/1.1\r\n${H}\r\n` },
  { name: 'extension method', bytes: `FROBNICATE / HTTP/1.1\r\n${H}\r\n` },
  { name: 'lower-case method', bytes: `get / HTTP/1.1\r\n${H}\r\n` },
  { name: 'two spaces after the method', bytes: `GET  / HTTP/1.1\r\n${H}\r\n` },
  { name: 'tab between method and target', bytes: `GET\t/ HTTP/1.1\r\n${H}\r\n` },
  { name: 'HTTP/1.2', bytes: `GET / HTTP/1.2\r\n${H}\r\n` },
  { name: 'HTTP/2.0 in a request line', bytes: `GET / HTTP/2.0\r\n${H}\r\n` },
  { name: 'http/1.1 in lower case', bytes: `GET / http/1.1\r\n${H}\r\n` },
  { name: 'no version', bytes: `GET /\r\n${H}\r\n` },
  { name: 'target with obs-text', bytes: get('/caf\xe9') },
  { name: 'target with DEL', bytes: get('/a\x7fb') },
  { name: 'target with NUL', bytes: get('/a\x00b') },
  { name: 'target with a control character', bytes: get('/a\x01b') },
  // Header fields (RFC 9110 §5, RFC 9112 §5)
  { name: 'no Host', bytes: 'GET / HTTP/1.1\r\n\r\n' },
  { name: 'empty Host', bytes: 'GET / HTTP/1.1\r\nHost:\r\n\r\n' },
  { name: 'two Host fields', bytes: get('/', 'Host: b\r\n') },
  { name: 'value with OWS around it', bytes: get('/', 'X-V: \t a b \t \r\n') },
  { name: 'value with obs-text', bytes: get('/', 'X-V: caf\xe9\r\n') },
  { name: 'empty value', bytes: get('/', 'X-V:\r\n') },
  { name: 'value with NUL', bytes: get('/', 'X-V: a\x00b\r\n') },
  { name: 'value with a control character', bytes: get('/', 'X-V: a\x01b\r\n') },
  { name: 'value with DEL', bytes: get('/', 'X-V: a\x7fb\r\n') },
  { name: 'space before the colon', bytes: get('/', 'X-V : a\r\n') },
  { name: 'tab before the colon', bytes: get('/', 'X-V\t: a\r\n') },
  { name: 'empty name', bytes: get('/', ': a\r\n') },
  { name: 'no colon', bytes: get('/', 'X-V\r\n') },
  { name: 'name with obs-text', bytes: get('/', 'X-\xe9: a\r\n') },
  { name: 'name with a control character', bytes: get('/', 'X-\x01: a\r\n') },
  { name: 'name with a separator', bytes: get('/', 'X(V): a\r\n') },
  { name: 'obs-fold', bytes: get('/', 'X-V: a\r\n b\r\n') },
  { name: 'obs-fold with a tab', bytes: get('/', 'X-V: a\r\n\tb\r\n') },
  {
    name: 'header line starting with a space first',
    bytes: `GET / HTTP/1.1\r\n X-V: a\r\n${H}\r\n`,
  },
  { name: 'repeated field joined', bytes: get('/', 'X-V: a\r\nX-V: b\r\n') },
];

const res = (head: string, body = '') => `HTTP/1.1 ${head}\r\n\r\n${body}`;

export const RESPONSES: readonly Case[] = [
  { name: 'Content-Length', bytes: res('200 OK\r\nContent-Length: 5', 'hello') },
  {
    name: 'chunked',
    bytes: res('200 OK\r\nTransfer-Encoding: chunked', '5\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'chunked with extension and trailer',
    bytes: res('200 OK\r\nTransfer-Encoding: chunked', '5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n'),
  },
  {
    name: 'chunked, size with leading zeros',
    bytes: res('200 OK\r\nTransfer-Encoding: chunked', '0000000000000005\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'chunked, size overflow',
    bytes: res('200 OK\r\nTransfer-Encoding: chunked', 'fffffffffffffffffff\r\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'chunked, bare LF after size',
    bytes: res('200 OK\r\nTransfer-Encoding: chunked', '5\nhello\r\n0\r\n\r\n'),
  },
  {
    name: 'chunked, control character in extension',
    bytes: res('200 OK\r\nTransfer-Encoding: chunked', '5;\x01\r\nhello\r\n0\r\n\r\n'),
  },
  { name: 'until close', bytes: res('200 OK', 'hello') },
  { name: 'HTTP/1.0 until close', bytes: `HTTP/1.0 200 OK\r\n\r\nhello` },
  { name: 'no reason phrase', bytes: res('200\r\nContent-Length: 5', 'hello') },
  { name: 'empty reason phrase', bytes: res('200 \r\nContent-Length: 5', 'hello') },
  { name: 'two-digit status', bytes: res('20 OK\r\nContent-Length: 5', 'hello') },
  { name: 'four-digit status', bytes: res('2000 OK\r\nContent-Length: 5', 'hello') },
  { name: 'status 099', bytes: res('099 OK\r\nContent-Length: 5', 'hello') },
  { name: '204 with Content-Length', bytes: res('204 No Content\r\nContent-Length: 5') },
  {
    name: '100 Continue first',
    bytes: `HTTP/1.1 100 Continue\r\n\r\n${res('200 OK\r\nContent-Length: 5', 'hello')}`,
  },
  {
    name: 'chunked and Content-Length',
    bytes: res(
      '200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5',
      '5\r\nhello\r\n0\r\n\r\n',
    ),
  },
  {
    name: 'Content-Length twice, different values',
    bytes: res('200 OK\r\nContent-Length: 5\r\nContent-Length: 6', 'hello!'),
  },
  {
    name: 'Content-Length twice, same value',
    bytes: res('200 OK\r\nContent-Length: 5\r\nContent-Length: 5', 'hello'),
  },
  { name: 'Content-Length +5', bytes: res('200 OK\r\nContent-Length: +5', 'hello') },
  {
    name: 'Transfer-Encoding: gzip, chunked',
    bytes: res('200 OK\r\nTransfer-Encoding: gzip, chunked', '5\r\nhello\r\n0\r\n\r\n'),
  },
  { name: 'Transfer-Encoding: gzip', bytes: res('200 OK\r\nTransfer-Encoding: gzip', 'hello') },
  { name: 'bare LF line endings', bytes: 'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello' },
  { name: 'obs-fold', bytes: res('200 OK\r\nX-V: a\r\n b\r\nContent-Length: 5', 'hello') },
  { name: 'space before the colon', bytes: res('200 OK\r\nX-V : a\r\nContent-Length: 5', 'hello') },
  { name: 'value with NUL', bytes: res('200 OK\r\nX-V: a\x00b\r\nContent-Length: 5', 'hello') },
  {
    name: 'value with obs-text',
    bytes: res('200 OK\r\nX-V: caf\xe9\r\nContent-Length: 5', 'hello'),
  },
  { name: 'value with DEL', bytes: res('200 OK\r\nX-V: a\x7fb\r\nContent-Length: 5', 'hello') },
  { name: 'truncated Content-Length body', bytes: res('200 OK\r\nContent-Length: 9', 'hello') },
  {
    name: 'truncated chunked body',
    bytes: res('200 OK\r\nTransfer-Encoding: chunked', '5\r\nhello\r\n'),
  },
];
