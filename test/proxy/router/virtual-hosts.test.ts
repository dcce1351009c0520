import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import type { envoy } from '../../../src/xds/index.js';
import { compileError, request, table } from './helpers.js';

function vhost(name: string, ...domains: string[]) {
  return { name, domains, routes: [{ name, match: { prefix: '/' }, route: { cluster: name } }] };
}

function config(...vhosts: ReturnType<typeof vhost>[]): envoy.RouteConfiguration {
  return { name: 'rc', virtual_hosts: vhosts };
}

describe('router: virtual host selection', () => {
  const t = table(
    config(
      vhost('exact', 'api.example.com', 'api.example.com:8443'),
      vhost('exact-port', 'www.example.com:8080'),
      vhost('suffix-short', '*.example.com'),
      vhost('suffix-long', '*.eu.example.com'),
      vhost('suffix-dash', '*-stage.example.com'),
      vhost('prefix-short', 'api.*'),
      vhost('prefix-long', 'api.eu.*'),
      vhost('any', '*'),
    ),
  );
  const host = (authority: string) => t.match(request(authority))?.virtualHost;

  it('prefers an exact domain to every wildcard', () => {
    assert.equal(host('api.example.com'), 'exact');
  });

  it('prefers the longest suffix wildcard, then prefix wildcards, then *', () => {
    assert.equal(host('x.example.com'), 'suffix-short');
    assert.equal(host('x.eu.example.com'), 'suffix-long');
    assert.equal(host('web-stage.example.com'), 'suffix-dash');
    assert.equal(host('api.eu.example.org'), 'prefix-long');
    assert.equal(host('api.example.org'), 'prefix-short');
    assert.equal(host('other.org'), 'any');
  });

  it('prefers a suffix wildcard to a prefix wildcard', () => {
    // 'api.*' and '*.example.com' both match; suffixes come first.
    assert.equal(host('api.x.example.com'), 'suffix-short');
  });

  it('never lets a wildcard stand for nothing', () => {
    assert.equal(host('example.com'), 'any');
    assert.equal(host('-stage.example.com'), 'suffix-short');
    assert.equal(host('api.'), 'any');
  });

  it('tries host:port first, then the host without its port, in each tier', () => {
    assert.equal(host('api.example.com:8443'), 'exact');
    assert.equal(host('api.example.com:1234'), 'exact');
    assert.equal(host('www.example.com:8080'), 'exact-port');
    // Not listed without a port: the wildcard tier takes it.
    assert.equal(host('www.example.com'), 'suffix-short');
    assert.equal(host('www.example.com:9090'), 'suffix-short');
    assert.equal(host('x.eu.example.com:80'), 'suffix-long');
    assert.equal(host('api.example.org:80'), 'prefix-short');
  });

  it('ignores case in the authority and in the domains', () => {
    const mixed = table(config(vhost('m', 'Web.Default'), vhost('w', '*.Example.COM')));
    assert.equal(mixed.match(request('WEB.default'))?.virtualHost, 'm');
    assert.equal(mixed.match(request('web.default:80'))?.virtualHost, 'm');
    assert.equal(mixed.match(request('A.EXAMPLE.com'))?.virtualHost, 'w');
  });

  it('keeps IPv6 literals whole', () => {
    const v6 = table(config(vhost('v6', '[::1]'), vhost('v6-port', '[::1]:8080')));
    assert.equal(v6.match(request('[::1]:8080'))?.virtualHost, 'v6-port');
    assert.equal(v6.match(request('[::1]:9'))?.virtualHost, 'v6');
    assert.equal(v6.match(request('[::1]'))?.virtualHost, 'v6');
  });

  it('matches nothing without a * virtual host', () => {
    const only = table(config(vhost('a', 'a')));
    assert.equal(only.match(request('b')), undefined);
  });

  it('strips the port before matching under ignore_port_in_host_matching', () => {
    const rc = config(vhost('a', 'a'), vhost('a-port', 'a:80'));
    assert.equal(table(rc).match(request('a:80'))?.virtualHost, 'a-port');
    const ignoring = table({ ...rc, ignore_port_in_host_matching: true });
    assert.equal(ignoring.match(request('a:80'))?.virtualHost, 'a');
  });

  it('rejects a domain twice, a misplaced *, a host without domains', () => {
    assert.match(
      compileError(config(vhost('a', 'x'), vhost('b', 'X'))),
      /domain "x".*virtual host "a"/,
    );
    assert.match(compileError(config(vhost('a', 'a.*.com'))), /"a.\*.com"/);
    assert.match(compileError(config(vhost('a', '*.a.*'))), /"\*.a.\*"/);
    assert.match(compileError(config(vhost('a'))), /virtual host "a": has no domains/);
    assert.match(compileError(config(vhost('a', 'x'), vhost('a', 'y'))), /"a" is defined twice/);
  });
});
