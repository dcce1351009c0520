/**
 * An upstream attempt's error is classified by its code, never its message: a refused
 * HTTP/2 stream is retriable as refused-stream only when its code says so.
 */
import assert from 'node:assert/strict';
import { FAILURE } from '../../../src/proxy/failure/index.js';
import {
  attemptFailure,
  classifyAttemptError,
  isProtocolError,
  PER_TRY_TIMEOUT,
} from '../../../src/proxy/http/error-classification.js';
import {
  CONNECT_TIMEOUT,
  PROTOCOL_ERROR,
  REFUSED_STREAM,
  UpstreamError,
} from '../../../src/proxy/upstream/index.js';

describe('error classification', () => {
  it('regression: a refused stream is known by its code, not by the words in its message', () => {
    assert.equal(
      classifyAttemptError(new UpstreamError(REFUSED_STREAM, 'whatever')),
      'refused-stream',
    );
    // Before: any error whose message mentioned REFUSED_STREAM was taken for one.
    const lookalike = new UpstreamError('UND_ERR_SOCKET', 'peer sent NGHTTP2_REFUSED_STREAM?');
    assert.equal(classifyAttemptError(lookalike), 'reset');
  });

  it('connect failures by code (node and undici), timeouts by identity, the rest resets', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(classifyAttemptError(refused), 'connect-failure');
    assert.equal(classifyAttemptError(new UpstreamError(CONNECT_TIMEOUT, 'x')), 'connect-failure');
    assert.equal(classifyAttemptError(PER_TRY_TIMEOUT), 'timeout');
    assert.equal(classifyAttemptError(new Error('per-try timeout')), 'reset');
  });

  it("answers each kind from the failure table, and knows the upstream's protocol errors", () => {
    assert.equal(attemptFailure('timeout'), FAILURE.UPSTREAM_TIMEOUT);
    assert.equal(attemptFailure('connect-failure'), FAILURE.CONNECT_FAILURE);
    assert.equal(attemptFailure('reset'), FAILURE.CONNECTION_TERMINATION);
    assert.equal(attemptFailure('refused-stream'), FAILURE.CONNECTION_TERMINATION);
    assert.ok(isProtocolError(new UpstreamError(PROTOCOL_ERROR, 'bad status line')));
    assert.ok(!isProtocolError(new UpstreamError(CONNECT_TIMEOUT, 'bad status line')));
  });
});
