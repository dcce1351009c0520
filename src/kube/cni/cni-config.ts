/**
 * The plugin's network configuration (the JSON a runtime passes on standard input), read
 * and checked. https://www.cni.dev/docs/spec/#section-1-network-configuration-format
 *
 *   { "cniVersion": "1.0.0", "name": "k8s-pod-network", "type": "ferry-cni",
 *     "excludeNamespaces": ["kube-system"], "capture": { "excludeOutboundCidrs": [...] },
 *     "prevResult": { ... } }
 */
import { type CaptureConfig, CaptureError, captureConfig } from '../capture/index.js';
import { CNI_ERROR, CniError } from './cni-error.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export interface CniNetConf {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  /** The previous plugin's result, passed through unchanged; required for ADD. */
  readonly prevResult?: Record<string, unknown>;
  /** Pods of these namespaces are never captured (default: kube-system). */
  readonly excludeNamespaces: readonly string[];
  /** When set, only pods of these namespaces are captured. */
  readonly includeNamespaces?: readonly string[];
  readonly capture: CaptureConfig;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function stringList(field: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new CniError(CNI_ERROR.invalidConfig, `${field} must be a list of strings`);
  }
  return v;
}

function numberList(field: string, v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((n) => typeof n === 'number')) {
    throw new CniError(CNI_ERROR.invalidConfig, `${field} must be a list of port numbers`);
  }
  return v;
}

export function parseNetConf(text: string): CniNetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(
      CNI_ERROR.decodeFailure,
      'the network configuration on standard input is not JSON',
      (err as Error).message,
    );
  }
  if (!isObject(raw)) {
    throw new CniError(CNI_ERROR.decodeFailure, 'the network configuration is not a JSON object');
  }
  if (typeof raw.cniVersion !== 'string') {
    throw new CniError(CNI_ERROR.invalidConfig, 'cniVersion is missing');
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(raw.cniVersion)) {
    throw new CniError(
      CNI_ERROR.incompatibleVersion,
      `cniVersion ${raw.cniVersion} is not supported (${SUPPORTED_VERSIONS.join(', ')})`,
    );
  }
  if (typeof raw.name !== 'string') throw new CniError(CNI_ERROR.invalidConfig, 'name is missing');
  if (typeof raw.type !== 'string') throw new CniError(CNI_ERROR.invalidConfig, 'type is missing');
  if (raw.prevResult !== undefined && !isObject(raw.prevResult)) {
    throw new CniError(CNI_ERROR.invalidConfig, 'prevResult is not an object');
  }
  const c = raw.capture ?? {};
  if (!isObject(c)) throw new CniError(CNI_ERROR.invalidConfig, 'capture is not an object');
  let capture: CaptureConfig;
  try {
    capture = captureConfig({
      proxyUid: c.proxyUid as number | undefined,
      proxyGid: c.proxyGid as number | undefined,
      inboundPort: c.inboundPort as number | undefined,
      outboundPort: c.outboundPort as number | undefined,
      excludeInboundPorts: numberList('capture.excludeInboundPorts', c.excludeInboundPorts),
      excludeOutboundPorts: numberList('capture.excludeOutboundPorts', c.excludeOutboundPorts),
      excludeOutboundCidrs: stringList('capture.excludeOutboundCidrs', c.excludeOutboundCidrs),
      ipv6: c.ipv6 as boolean | undefined,
    });
  } catch (err) {
    if (err instanceof CaptureError)
      throw new CniError(CNI_ERROR.invalidConfig, `capture: ${err.message}`);
    throw err;
  }
  return {
    cniVersion: raw.cniVersion,
    name: raw.name,
    type: raw.type,
    prevResult: raw.prevResult as Record<string, unknown> | undefined,
    excludeNamespaces: stringList('excludeNamespaces', raw.excludeNamespaces) ?? ['kube-system'],
    includeNamespaces: stringList('includeNamespaces', raw.includeNamespaces),
    capture,
  };
}

/** `CNI_ARGS`: `K=V;K=V` (https://www.cni.dev/docs/spec/#parameters). */
export function parseCniArgs(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(CNI_ERROR.invalidEnvironment, `CNI_ARGS: "${pair}" is not KEY=VALUE`);
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
