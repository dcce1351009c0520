import assert from 'node:assert/strict';
import { BodyReader } from '../../../src/proxy/http1/body-reader.js';
import { CHUNKED, framingOf, HeadError } from '../../../src/proxy/http1/response-head.js';

function collect(reader: BodyReader, ...parts: string[]): { body: string; ends: number[] } {
  let body = '';
  const ends: number[] = [];
  const sink = { onBody: (c: Buffer) => (body += c.toString()) };
  for (const p of parts) ends.push(reader.read(Buffer.from(p), 0, sink));
  return { body, ends };
}

describe('BodyReader', () => {
  it('reads a fixed-length body and stops at its end', () => {
    const r = new BodyReader({ kind: 'length', length: 5 });
    const { body, ends } = collect(r, 'hel', 'loGET /next');
    assert.equal(body, 'hello');
    assert.deepEqual(ends, [3, 2]);
    assert.ok(r.done);
  });

  it('decodes chunked bodies split anywhere, with extensions and trailers', () => {
    const r = new BodyReader(CHUNKED);
    const wire =
      '4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nx-check: ok\r\n\r\nNEXT';
    let body = '';
    const sink = { onBody: (c: Buffer) => (body += c.toString()) };
    let end = 0;
    const buf = Buffer.from(wire);
    // Feed one byte at a time: every state must survive a split.
    for (let i = 0; i < buf.length && !r.done; i++)
      end = i + r.read(buf.subarray(i, i + 1), 0, sink);
    assert.equal(body, 'Wikipedia in\r\n\r\nchunks.');
    assert.equal(wire.slice(end), 'NEXT');
    assert.deepEqual(r.trailers, { 'x-check': 'ok' });
  });

  it('rejects a bad chunk size', () => {
    const r = new BodyReader(CHUNKED);
    assert.throws(() => collect(r, 'zz\r\n'), HeadError);
  });

  // Regressions found by the differential test against llhttp (differential.test.ts).
  it('regression: refuses a chunk line ending in a bare LF (RFC 9112 §7.1), as llhttp does', () => {
    assert.throws(() => collect(new BodyReader(CHUNKED), '5\nhello\r\n0\r\n\r\n'), /bare LF/);
    assert.throws(() => collect(new BodyReader(CHUNKED), '5\r\nhello\n0\r\n\r\n'), /bare LF/);
    assert.throws(() => collect(new BodyReader(CHUNKED), '0\r\nx-t: 1\n\r\n'), /bare LF/);
  });

  it('regression: refuses a chunk extension with a control character or DEL', () => {
    assert.throws(() => collect(new BodyReader(CHUNKED), '5;a\x01b\r\n'), /chunk extension/);
    assert.throws(() => collect(new BodyReader(CHUNKED), '5;a=\x7f\r\n'), /chunk extension/);
    assert.equal(collect(new BodyReader(CHUNKED), '5;a="b c"\r\nhello\r\n').body, 'hello');
  });

  it('regression: takes any number of leading zeros in a chunk size, and BWS only before ";"', () => {
    const r = new BodyReader(CHUNKED);
    assert.equal(collect(r, '0000000000000005\r\nhello\r\n0\r\n\r\n').body, 'hello');
    assert.ok(r.done);
    assert.equal(collect(new BodyReader(CHUNKED), '5 \t;a\r\nhello\r\n').body, 'hello');
    assert.throws(() => collect(new BodyReader(CHUNKED), '5 \r\n'), /invalid chunk size/);
    assert.throws(() => collect(new BodyReader(CHUNKED), ' 5\r\n'), /invalid chunk size/);
    assert.throws(() => collect(new BodyReader(CHUNKED), '1000000000000\r\n'), /chunk size/);
  });

  it('refuses a message with both Transfer-Encoding and Content-Length (smuggling)', () => {
    assert.throws(
      () => framingOf({ 'transfer-encoding': 'chunked', 'content-length': '3' }, CHUNKED),
      /both Transfer-Encoding and Content-Length/,
    );
    assert.throws(() => framingOf({ 'content-length': '1, 2' }, CHUNKED), /invalid content-length/);
    assert.throws(() => framingOf({ 'transfer-encoding': 'gzip' }, CHUNKED), HeadError);
  });
});
