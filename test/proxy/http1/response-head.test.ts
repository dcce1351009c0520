import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import {
  HeadError,
  parseHeaderBlock,
  parseResponseHead,
} from '../../../src/proxy/http1/response-head.js';

describe('proxy/http1: message heads', () => {
  it('parses a status line with or without a reason phrase, and HTTP/1.0 closing by default', () => {
    assert.equal(parseResponseHead('HTTP/1.1 204 No Content').status, 204);
    assert.equal(parseResponseHead('HTTP/1.1 200').status, 200);
    assert.equal(parseResponseHead('HTTP/1.1 503 \r\nx: 1').headers.x, '1');
    assert.equal(parseResponseHead('HTTP/1.0 200 OK').close, true);
    assert.equal(parseResponseHead('HTTP/1.0 200 OK\r\nConnection: keep-alive').close, false);
    assert.equal(parseResponseHead('HTTP/1.1 200 OK\r\nConnection: close').close, true);
  });

  it('refuses malformed status lines', () => {
    for (const bad of [
      'HTTP/2 200 OK',
      'HTTP/1.1 20 OK',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1 099 X',
      'HTTP/1.1  200',
    ]) {
      assert.throws(() => parseResponseHead(bad), HeadError, bad);
    }
  });

  it('lower-cases names (also when seen before in another spelling), trims values, joins repeats, keeps set-cookie a list', () => {
    const headers: IncomingHttpHeaders = {};
    parseHeaderBlock(
      'Content-Type: text/plain\r\nX-Multi:  a \r\nx-multi:b\r\nSet-Cookie: s=1\r\nset-cookie: t=2\r\nEmpty:\r\n',
      0,
      headers,
    );
    assert.deepEqual(headers, {
      'content-type': 'text/plain',
      'x-multi': 'a, b',
      'set-cookie': ['s=1', 't=2'],
      empty: '',
    });
    const again: IncomingHttpHeaders = {};
    parseHeaderBlock('CONTENT-TYPE: a\r\ncontent-type: b', 0, again);
    assert.deepEqual(again, { 'content-type': 'a, b' });
  });

  it('refuses folding, bad names, missing colons and control characters in values', () => {
    for (const bad of [
      ' folded: x',
      'Bad Name: x',
      'no colon here',
      ': empty name',
      'X: a\u0001b',
      'X: a\u007fb',
    ]) {
      assert.throws(() => parseHeaderBlock(bad, 0, {}), HeadError, JSON.stringify(bad));
    }
  });
});
