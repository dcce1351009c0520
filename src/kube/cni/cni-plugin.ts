/**
 * Ferry's CNI plugin: a chained plugin (after the one that sets up the pod's interface)
 * that installs the same capture rules as `ferry init`, inside the pod's network namespace,
 * so pods need no NET_ADMIN init container (as istio-cni does).
 * https://www.cni.dev/docs/spec/ (1.1.0; 0.3.0 and later accepted)
 *
 * Which pods: the plugin has no API server access, so it decides by namespace (pods of
 * excluded namespaces, and pods outside includeNamespaces when that is set, pass through).
 */
import { access } from 'node:fs/promises';
import {
  CaptureError,
  type CommandRunner,
  captureInstalled,
  installCapture,
  removeCapture,
} from '../capture/index.js';
import { type CniNetConf, parseCniArgs, parseNetConf, SUPPORTED_VERSIONS } from './cni-config.js';
import { CNI_ERROR, CniError } from './cni-error.js';

/** What a runtime hands the plugin: the CNI_* variables and standard input. */
export interface CniRequest {
  readonly command: string | undefined;
  readonly containerId: string | undefined;
  readonly netns: string | undefined;
  readonly ifName: string | undefined;
  readonly args: string | undefined;
  readonly stdin: string;
}

export interface CniDeps {
  /** Runs iptables inside the namespace at this path (e.g. `nsenter --net=PATH`). */
  readonly runnerIn: (netnsPath: string) => CommandRunner;
  /** Diagnostics go to standard error, never standard output (that is the result). */
  readonly log: (line: string) => void;
}

/** Output for standard output; undefined prints nothing (CHECK, DEL, GC, STATUS). */
export type CniOutput = Record<string, unknown> | undefined;

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new CniError(CNI_ERROR.invalidEnvironment, `${name} is not set`);
  }
  return value;
}

/** Whether this pod is one the plugin captures; the reason when not. */
function skipReason(conf: CniNetConf, args: Record<string, string>): string | undefined {
  const ns = args.K8S_POD_NAMESPACE;
  if (ns === undefined) return 'not a Kubernetes pod (no K8S_POD_NAMESPACE in CNI_ARGS)';
  if (conf.excludeNamespaces.includes(ns)) return `namespace ${ns} is excluded`;
  if (conf.includeNamespaces && !conf.includeNamespaces.includes(ns)) {
    return `namespace ${ns} is not in includeNamespaces`;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function captureError(err: unknown): never {
  if (err instanceof CaptureError) {
    throw new CniError(CNI_ERROR.captureFailed, 'installing the capture rules failed', err.message);
  }
  throw err;
}

/** One plugin invocation; throws CniError for the runtime to see as an error result. */
export async function runCniCommand(req: CniRequest, deps: CniDeps): Promise<CniOutput> {
  const command = required('CNI_COMMAND', req.command);
  if (command === 'VERSION') {
    let cniVersion = '1.1.0';
    try {
      cniVersion = (JSON.parse(req.stdin) as { cniVersion?: string }).cniVersion ?? cniVersion;
    } catch {
      // VERSION may be called with no configuration at all.
    }
    return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
  }
  const conf = parseNetConf(req.stdin);
  if (command === 'GC' || command === 'STATUS') return undefined; // nothing kept outside pods
  if (command !== 'ADD' && command !== 'DEL' && command !== 'CHECK') {
    throw new CniError(CNI_ERROR.invalidEnvironment, `CNI_COMMAND ${command} is not supported`);
  }
  required('CNI_CONTAINERID', req.containerId);
  required('CNI_IFNAME', req.ifName);
  const args = parseCniArgs(req.args);
  const pod = `${args.K8S_POD_NAMESPACE ?? '?'}/${args.K8S_POD_NAME ?? '?'}`;
  const skip = skipReason(conf, args);

  if (command === 'DEL') {
    // DEL succeeds even when the namespace is already gone (the spec asks for it).
    if (skip || !req.netns || !(await exists(req.netns))) return undefined;
    const runner = deps.runnerIn(req.netns);
    try {
      for (const family of conf.capture.ipv6 ? ([4, 6] as const) : ([4] as const)) {
        await removeCapture(runner, family);
      }
    } catch (err) {
      deps.log(`ferry-cni: DEL ${pod}: ${(err as Error).message}`);
    }
    return undefined;
  }

  const netns = required('CNI_NETNS', req.netns);
  if (!(await exists(netns))) {
    throw new CniError(CNI_ERROR.unknownContainer, `network namespace ${netns} does not exist`);
  }
  if (command === 'CHECK') {
    if (conf.cniVersion.startsWith('0.3.')) {
      throw new CniError(CNI_ERROR.incompatibleVersion, `CHECK needs cniVersion 0.4.0 or later`);
    }
    if (skip) return undefined;
    const runner = deps.runnerIn(netns);
    for (const family of conf.capture.ipv6 ? ([4, 6] as const) : ([4] as const)) {
      const present = await captureInstalled(runner, family).catch(captureError);
      if (!present) {
        throw new CniError(
          CNI_ERROR.captureMissing,
          `the IPv${family} capture rules of pod ${pod} are missing from ${netns}`,
        );
      }
    }
    return undefined;
  }

  // ADD: a chained plugin passes the previous result on, in the configuration's version.
  if (conf.prevResult === undefined) {
    throw new CniError(
      CNI_ERROR.invalidConfig,
      'prevResult is missing: ferry-cni is a chained plugin and must follow the plugin that sets up the interface',
    );
  }
  const result = { ...conf.prevResult, cniVersion: conf.cniVersion };
  if (skip) {
    deps.log(`ferry-cni: ADD ${pod}: not captured: ${skip}`);
    return result;
  }
  const installed = await installCapture(deps.runnerIn(netns), conf.capture).catch(captureError);
  deps.log(
    `ferry-cni: ADD ${pod}: capture installed in ${netns} (IPv${installed.map((s) => s.family).join(', IPv')})`,
  );
  return result;
}
