import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { covers, intersectHostnames } from '../../src/gatewayapi/index.js';

describe('gateway API hostname intersection', () => {
  it('a wildcard covers one or more labels, never the bare domain', () => {
    assert.equal(covers('*.example.com', 'foo.example.com'), true);
    assert.equal(covers('*.example.com', 'foo.bar.example.com'), true);
    assert.equal(covers('*.example.com', 'example.com'), false);
    assert.equal(covers('*.example.com', 'fooexample.com'), false);
    assert.equal(covers('*.example.com', '*.bar.example.com'), true);
    assert.equal(covers('foo.example.com', '*.example.com'), false);
  });

  // After the conformance suite's HTTPRouteHostnameIntersection scenarios.
  it('keeps the more specific name where listener and route agree', () => {
    assert.deepEqual(intersectHostnames('*.wildcard.io', ['foo.wildcard.io', 'bar.example.com']), [
      'foo.wildcard.io',
    ]);
    assert.deepEqual(intersectHostnames('very.specific.com', ['*.specific.com']), [
      'very.specific.com',
    ]);
    assert.deepEqual(intersectHostnames('*.anotherwildcard.io', ['*.foo.anotherwildcard.io']), [
      '*.foo.anotherwildcard.io',
    ]);
  });

  it('a listener without a hostname takes the route names; a route without takes the listener name', () => {
    assert.deepEqual(intersectHostnames(undefined, ['a.io', 'b.io']), ['a.io', 'b.io']);
    assert.deepEqual(intersectHostnames('a.io', []), ['a.io']);
    assert.deepEqual(intersectHostnames(undefined, []), ['*']);
  });

  it('nothing in common is an empty intersection', () => {
    assert.deepEqual(intersectHostnames('a.io', ['b.io', '*.a.io']), []);
  });
});
