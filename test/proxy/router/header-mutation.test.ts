/**
 * Header modifiers (request/response_headers_to_add/_remove) of a route, its virtual host and
 * its configuration, as a Gateway API RequestHeaderModifier/ResponseHeaderModifier becomes
 * them: set, add and remove, with Envoy's order (removals first; the outer level last).
 */
import assert from 'node:assert/strict';
import type { MutableHeaders } from '../../../src/proxy/router/header-mutation.js';
import { compileError, forward, request, table } from './helpers.js';

const set = (key: string, value: string) => ({
  header: { key, value },
  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const,
});
const add = (key: string, value: string) => ({
  header: { key, value },
  append_action: 'APPEND_IF_EXISTS_OR_ADD' as const,
});

describe('route header modifiers', () => {
  const t = table({
    name: 'rc',
    response_headers_to_add: [set('x-config', 'rc')],
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        request_headers_to_add: [set('x-vhost', 'vh'), set('x-level', 'vhost')],
        routes: [
          {
            name: 'mod',
            match: { prefix: '/mod' },
            route: { cluster: 'c' },
            request_headers_to_add: [
              set('X-Set', 'one'),
              add('x-add', 'two'),
              set('x-level', 'route'),
              { header: { key: 'x-absent', value: 'a' }, append_action: 'ADD_IF_ABSENT' as const },
            ],
            request_headers_to_remove: ['X-Remove'],
            response_headers_to_add: [set('x-served-by', 'gateway')],
            response_headers_to_remove: ['server'],
          },
          { name: 'plain', match: { prefix: '/' }, route: { cluster: 'c' } },
        ],
      },
    ],
  });

  it('sets, adds and removes request headers, the virtual host after the route', () => {
    const route = forward(t.match(request('a', '/mod')));
    const headers: MutableHeaders = {
      'x-set': 'old',
      'x-add': 'first',
      'x-remove': 'gone',
      'x-absent': 'kept',
    };
    route.requestHeaders?.apply(headers);
    assert.deepEqual(headers, {
      'x-set': 'one',
      'x-add': ['first', 'two'],
      'x-absent': 'kept',
      'x-vhost': 'vh',
      // The outer level is applied last, so it wins (most_specific_header_mutations_wins false).
      'x-level': 'vhost',
    });
  });

  it('modifies response headers with the configuration level too', () => {
    const route = forward(t.match(request('a', '/mod')));
    const headers: MutableHeaders = { server: 'upstream', 'content-type': 'text/plain' };
    route.responseHeaders?.apply(headers);
    assert.deepEqual(headers, {
      'content-type': 'text/plain',
      'x-served-by': 'gateway',
      'x-config': 'rc',
    });
  });

  it('a route without modifiers of its own still gets its virtual host’s', () => {
    const route = forward(t.match(request('a', '/other')));
    const headers: MutableHeaders = {};
    route.requestHeaders?.apply(headers);
    assert.deepEqual(headers, { 'x-vhost': 'vh', 'x-level': 'vhost' });
  });

  it('refuses what it cannot do, naming the route: Host, pseudo-headers, %COMMAND%', () => {
    const rc = (h: object) => ({
      name: 'rc',
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'c' }, ...h }],
        },
      ],
    });
    assert.match(
      compileError(rc({ request_headers_to_remove: ['Host'] })),
      /route #0 "r": header "Host" cannot be removed/,
    );
    assert.match(
      compileError(rc({ request_headers_to_add: [set(':path', '/x')] })),
      /":path" cannot be added/,
    );
    assert.match(
      compileError(rc({ request_headers_to_add: [set('x-ip', '%DOWNSTREAM_REMOTE_ADDRESS%')] })),
      /%COMMAND% substitutions are not supported/,
    );
  });
});
