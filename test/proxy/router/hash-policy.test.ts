import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { hashInput } from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { compileError, forward, request, routes } from './helpers.js';

function policies(hash_policy: envoy.HashPolicy[]) {
  return forward(
    routes({ name: 'r', match: { prefix: '/' }, route: { cluster: 'c', hash_policy } }).match(
      request('h'),
    ),
  ).hashPolicies;
}

describe('router: hash policies', () => {
  it('compiles header, cookie, source IP and query parameter policies', () => {
    assert.deepEqual(
      policies([
        { header: { header_name: 'X-User' } },
        { cookie: { name: 'sid', ttl: { seconds: 60 }, path: '/' } },
        { cookie: { name: 'plain' } },
        { connection_properties: { source_ip: true } },
        { query_parameter: { name: 'user' } },
      ]),
      [
        { header: 'x-user' },
        { cookie: 'sid', ttlMs: 60_000, path: '/' },
        { cookie: 'plain' },
        { sourceIp: true },
        { queryParameter: 'user' },
      ],
    );
  });

  it('rejects a policy without a specifier or with an empty name', () => {
    const bad = (hash_policy: envoy.HashPolicy[]) =>
      compileError({
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'c', hash_policy } }],
          },
        ],
      });
    assert.match(bad([{}]), /hash_policy\[0\]: no policy specifier/);
    assert.match(bad([{ header: {} }]), /header_name is empty/);
    assert.match(bad([{ filter_state: {} }]), /not supported/);
  });

  it('hashes the first policy that yields a value', () => {
    const ps = policies([
      { header: { header_name: 'x-user' } },
      { cookie: { name: 'sid' } },
      { query_parameter: { name: 'u' } },
      { connection_properties: { source_ip: true } },
    ]);
    const req = (headers: Record<string, string>, path = '/') => request('h', path, 'GET', headers);
    assert.equal(hashInput(ps, req({ 'x-user': 'alice', cookie: 'sid=s1' }), '10.0.0.1'), 'alice');
    assert.equal(hashInput(ps, req({ cookie: 'a=1; sid=s1; b=2' }), '10.0.0.1'), 's1');
    assert.equal(hashInput(ps, req({ cookie: 'a=1' }, '/x?u=bob'), '10.0.0.1'), 'bob');
    assert.equal(hashInput(ps, req({}), '10.0.0.1'), '10.0.0.1');
    assert.equal(hashInput(ps, req({}), ''), undefined);
    assert.equal(hashInput([], req({ 'x-user': 'a' }), '10.0.0.1'), undefined);
  });

  it('reads cookies exactly by name, quoted or not, from one or several headers', () => {
    const ps = policies([{ cookie: { name: 'sid' } }]);
    const withCookie = (cookie: string | string[]) => request('h', '/', 'GET', { cookie });
    assert.equal(hashInput(ps, withCookie('xsid=1; sid="q"'), ''), 'q');
    assert.equal(hashInput(ps, withCookie('sidx=1'), ''), undefined);
    assert.equal(hashInput(ps, withCookie(['a=1', 'sid=2']), ''), '2');
  });

  it('reads pseudo-headers from the request', () => {
    const ps = policies([{ header: { header_name: ':authority' } }]);
    assert.equal(hashInput(ps, request('web:80'), ''), 'web:80');
  });
});
