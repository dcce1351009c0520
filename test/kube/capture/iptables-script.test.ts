/** The capture rules as iptables-restore scripts (golden), and the options they come from. */
import assert from 'node:assert/strict';
import {
  CaptureError,
  captureConfig,
  captureScripts,
  iptablesCleanupScript,
  iptablesRestoreScript,
  parseCidrs,
  parsePorts,
} from '../../../src/kube/capture/index.js';
import { expectGoldenText } from './golden.js';

describe('capture: iptables-restore scripts (golden)', () => {
  it('defaults, IPv4', () => {
    expectGoldenText('default.v4.rules', iptablesRestoreScript(captureConfig(), 4));
  });

  it('defaults, IPv6', () => {
    expectGoldenText('default.v6.rules', iptablesRestoreScript(captureConfig(), 6));
  });

  const excluded = captureConfig({
    proxyUid: 2000,
    inboundPort: 16006,
    outboundPort: 16001,
    excludeInboundPorts: [9443, 8081, 8081],
    excludeOutboundPorts: [6379, 5432],
    excludeOutboundCidrs: ['10.96.0.0/12', 'fd00:10:96::/112', '169.254.169.254'],
  });

  it('exclusions: ports sorted, CIDRs only in their own family (IPv4)', () => {
    expectGoldenText('excluded.v4.rules', iptablesRestoreScript(excluded, 4));
  });

  it('exclusions (IPv6)', () => {
    expectGoldenText('excluded.v6.rules', iptablesRestoreScript(excluded, 6));
  });

  it('removal', () => {
    expectGoldenText('cleanup.rules', iptablesCleanupScript());
  });

  it('--ipv4-only leaves IPv6 out', () => {
    assert.deepEqual(
      captureScripts(captureConfig({ ipv6: false })).map((s) => s.family),
      [4],
    );
    assert.deepEqual(
      captureScripts(captureConfig()).map((s) => s.family),
      [4, 6],
    );
  });

  it('the sidecar ports 15020 and 15021 are always left out of inbound capture', () => {
    assert.deepEqual(
      captureConfig({ excludeInboundPorts: [80] }).excludeInboundPorts,
      [80, 15020, 15021],
    );
  });

  it('bad options are named', () => {
    const bad = (f: () => unknown, re: RegExp) =>
      assert.throws(
        f,
        (e: unknown) =>
          e instanceof CaptureError && e.code === 'FERRY_CAPTURE_BAD_OPTION' && re.test(e.message),
      );
    bad(
      () => parsePorts('--exclude-outbound-ports', '5432,pg'),
      /--exclude-outbound-ports: "pg" is not a port/,
    );
    bad(() => parsePorts('--exclude-inbound-ports', '70000'), /70000 is not a port/);
    bad(
      () => parseCidrs('--exclude-outbound-cidrs', '10.0.0.0/33'),
      /"10\.0\.0\.0\/33" is not a CIDR/,
    );
    bad(() => parseCidrs('--exclude-outbound-cidrs', '10.0.0/8'), /is not a CIDR/);
    bad(() => parseCidrs('--exclude-outbound-cidrs', 'fd00:::1/8'), /is not a CIDR/);
    bad(() => captureConfig({ outboundPort: 0 }), /outbound port: 0/);
    assert.deepEqual(parseCidrs('x', ' 10.0.0.0/8 , fd00::/8,::ffff:1.2.3.4/128'), [
      '10.0.0.0/8',
      'fd00::/8',
      '::ffff:1.2.3.4/128',
    ]);
  });
});
