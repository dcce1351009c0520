/**
 * The capture rules as an iptables-restore script (pure; golden-tested). The layout follows
 * Istio's istio-iptables (https://istio.io/latest/docs/ops/deployment/application-requirements/
 * and tools/istio-iptables in istio/istio): Ferry's own chains in the nat table, hooked from
 * PREROUTING (traffic arriving at the pod) and OUTPUT (traffic the pod's processes send).
 * The script is meant for `iptables-restore --noflush`, so the rest of the table stays.
 *
 * REDIRECT rewrites the destination to the pod's own address (PREROUTING) or to loopback
 * (OUTPUT); the sidecar reads the original one back with SO_ORIGINAL_DST.
 * https://www.netfilter.org/documentation/HOWTO/NAT-HOWTO-6.html
 */
import type { CaptureConfig } from './capture-config.js';
import { cidrFamily } from './cidr.js';

export type IpFamily = 4 | 6;

export const CHAINS = {
  /** Inbound: decides what arriving TCP is redirected (hooked from PREROUTING). */
  inbound: 'FERRY_INBOUND',
  /** Inbound: the REDIRECT to the sidecar's inbound port. */
  inboundRedirect: 'FERRY_IN_REDIRECT',
  /** Outbound: decides what TCP sent by the pod is redirected (hooked from OUTPUT). */
  output: 'FERRY_OUTPUT',
  /** Outbound: the REDIRECT to the sidecar's outbound port. */
  redirect: 'FERRY_REDIRECT',
} as const;

/** The rules of one family, in order, as `iptables` arguments after `-t nat`. */
export function captureRules(config: CaptureConfig, family: IpFamily): string[] {
  const c = CHAINS;
  const rules: string[] = [
    `-A ${c.inboundRedirect} -p tcp -j REDIRECT --to-ports ${config.inboundPort}`,
    `-A ${c.redirect} -p tcp -j REDIRECT --to-ports ${config.outboundPort}`,
    // Inbound: every TCP port but the excluded ones goes to the sidecar.
    `-A PREROUTING -p tcp -j ${c.inbound}`,
    ...config.excludeInboundPorts.map((p) => `-A ${c.inbound} -p tcp --dport ${p} -j RETURN`),
    `-A ${c.inbound} -p tcp -j ${c.inboundRedirect}`,
    // Outbound: the sidecar's own traffic (its user or group) leaves as it is, or it
    // would loop back into itself; so does traffic that stays inside the pod (loopback,
    // which also carries the pod's calls to its own IP).
    `-A OUTPUT -p tcp -j ${c.output}`,
    `-A ${c.output} -m owner --uid-owner ${config.proxyUid} -j RETURN`,
    `-A ${c.output} -m owner --gid-owner ${config.proxyGid} -j RETURN`,
    `-A ${c.output} -o lo -j RETURN`,
    `-A ${c.output} -d ${family === 4 ? '127.0.0.1/32' : '::1/128'} -j RETURN`,
    ...config.excludeOutboundCidrs
      .filter((cidr) => cidrFamily(cidr) === family)
      .map((cidr) => `-A ${c.output} -d ${cidr} -j RETURN`),
    ...config.excludeOutboundPorts.map((p) => `-A ${c.output} -p tcp --dport ${p} -j RETURN`),
    `-A ${c.output} -j ${c.redirect}`,
  ];
  return rules;
}

/** The whole iptables-restore (family 4) or ip6tables-restore (family 6) input. */
export function iptablesRestoreScript(config: CaptureConfig, family: IpFamily): string {
  return [
    `# Ferry transparent capture, IPv${family}: ${family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush`,
    '*nat',
    ...Object.values(CHAINS).map((chain) => `:${chain} - [0:0]`),
    ...captureRules(config, family),
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Undoes the script: unhooks the chains, then flushes and deletes them. Only valid where
 * the rules are installed (a missing rule fails the whole restore, which changes nothing).
 */
export function iptablesCleanupScript(): string {
  const c = CHAINS;
  return [
    '# Ferry transparent capture: removal',
    '*nat',
    `-D PREROUTING -p tcp -j ${c.inbound}`,
    `-D OUTPUT -p tcp -j ${c.output}`,
    ...Object.values(CHAINS).map((chain) => `-F ${chain}`),
    ...Object.values(CHAINS).map((chain) => `-X ${chain}`),
    'COMMIT',
    '',
  ].join('\n');
}
