import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { type RedirectRoute, redirectLocation } from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { compileError, request, routes } from './helpers.js';

function redirect(
  r: envoy.RedirectAction,
  match: envoy.Route['match'] = { prefix: '/' },
): RedirectRoute {
  const m = routes({ name: 'r', match, redirect: r }).match(request('h', match?.prefix ?? '/'));
  assert.equal(m?.kind, 'redirect');
  return m as RedirectRoute;
}

function one(route: envoy.Route) {
  return { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [route] }] };
}

describe('router: direct responses and redirects', () => {
  it('answers a direct response with its status and pre-encoded body', () => {
    const t = routes(
      {
        name: 'teapot',
        match: { path: '/tea' },
        direct_response: { status: 418, body: { inline_string: 'short and stout' } },
      },
      {
        name: 'bytes',
        match: { path: '/b' },
        direct_response: {
          status: 200,
          body: { inline_bytes: Buffer.from('hi').toString('base64') },
        },
      },
      { name: 'empty', match: { prefix: '/' }, direct_response: { status: 404 } },
    );
    const tea = t.match(request('h', '/tea'));
    assert.equal(tea?.kind, 'direct-response');
    if (tea?.kind !== 'direct-response') return;
    assert.equal(tea.status, 418);
    assert.equal(tea.body?.toString(), 'short and stout');
    const b = t.match(request('h', '/b'));
    assert.equal(b?.kind === 'direct-response' && b.body?.toString(), 'hi');
    const empty = t.match(request('h', '/x'));
    assert.equal(empty?.kind === 'direct-response' && empty.body, undefined);
  });

  it('rejects a direct response with a bad status or a body from a file', () => {
    const bad = (d: envoy.DirectResponseAction) =>
      compileError(one({ name: 'd', match: { prefix: '/' }, direct_response: d }));
    assert.match(bad({ status: 99 }), /route #0 "d": direct_response status 99/);
    assert.match(bad({}), /direct_response status 0/);
    assert.match(
      bad({ status: 200, body: { filename: '/etc/passwd' } }),
      /inline_string or inline_bytes/,
    );
  });

  it('redirects with 301 by default, keeping scheme, authority, path and query', () => {
    const r = redirect({});
    assert.equal(r.status, 301);
    assert.equal(redirectLocation(r, request('h:8080', '/a?b=1'), 'http'), 'http://h:8080/a?b=1');
  });

  it('https_redirect changes the scheme and drops a default port', () => {
    const r = redirect({ https_redirect: true, response_code: 'PERMANENT_REDIRECT' });
    assert.equal(r.status, 308);
    assert.equal(redirectLocation(r, request('h:80', '/a'), 'http'), 'https://h/a');
    assert.equal(redirectLocation(r, request('h:8080', '/a'), 'http'), 'https://h:8080/a');
  });

  it('host_redirect replaces the authority; port_redirect its port', () => {
    assert.equal(
      redirectLocation(redirect({ host_redirect: 'new.example' }), request('h:8080', '/a'), 'http'),
      'http://new.example/a',
    );
    assert.equal(
      redirectLocation(redirect({ port_redirect: 9443 }), request('h:8080', '/a'), 'https'),
      'https://h:9443/a',
    );
    assert.equal(
      redirectLocation(
        redirect({ host_redirect: 'n', port_redirect: 1 }),
        request('h', '/'),
        'http',
      ),
      'http://n:1/',
    );
  });

  it('path_redirect, prefix_rewrite and strip_query shape the path', () => {
    assert.equal(
      redirectLocation(redirect({ path_redirect: '/new' }), request('h', '/old?x=1'), 'http'),
      'http://h/new?x=1',
    );
    assert.equal(
      redirectLocation(redirect({ path_redirect: '/new?y=2' }), request('h', '/old?x=1'), 'http'),
      'http://h/new?y=2',
    );
    assert.equal(
      redirectLocation(
        redirect({ path_redirect: '/new', strip_query: true }),
        request('h', '/old?x=1'),
        'http',
      ),
      'http://h/new',
    );
    const prefixed = redirect(
      { prefix_rewrite: '/v2/', response_code: 'FOUND' },
      { prefix: '/v1/' },
    );
    assert.equal(prefixed.status, 302);
    assert.equal(
      redirectLocation(prefixed, request('h', '/v1/users?x'), 'http'),
      'http://h/v2/users?x',
    );
    const stripped = redirect({ prefix_rewrite: '/v2/', strip_query: true }, { prefix: '/v1/' });
    assert.equal(
      redirectLocation(stripped, request('h', '/v1/users?x'), 'http'),
      'http://h/v2/users',
    );
  });

  it('rejects conflicting redirect fields and unknown codes', () => {
    const bad = (r: envoy.RedirectAction) =>
      compileError(one({ name: 'x', match: { prefix: '/' }, redirect: r }));
    assert.match(bad({ https_redirect: true, scheme_redirect: 'ftp' }), /mutually exclusive/);
    assert.match(bad({ path_redirect: '/a', prefix_rewrite: '/b' }), /only one of/);
    // Not a RedirectResponseCode name: only a hand-made object can carry one.
    assert.match(
      bad({ response_code: 'NOPE' } as unknown as envoy.RedirectAction),
      /response_code NOPE/,
    );
  });
});
