/**
 * The pod annotations (and the one namespace label) that steer injection. Each is read and
 * checked here, once; a bad value is an error naming the annotation.
 */
import { CaptureError, parseCidrs, parsePorts } from '../capture/index.js';
import { InjectError } from './inject-error.js';
import type { StringMap } from './kube-types.js';

/** Namespace label that opts every pod of the namespace in (`enabled`) or out (`disabled`). */
export const NAMESPACE_LABEL = 'ferry-injection';

export const ANNOTATIONS = {
  /** "true" opts a pod in, "false" out. Also honoured as a pod label, for objectSelectors. */
  inject: 'ferry.io/inject',
  /**
   * On a Ferry gateway's pods (`<namespace>/<gateway name>`): the pod runs `ferry gateway`,
   * the proxy itself, so it never gets a sidecar, whatever else asks for one.
   */
  gateway: 'ferry.io/gateway',
  /** Written by the injector; its presence means "already injected". */
  status: 'ferry.io/status',
  proxyImage: 'ferry.io/proxy-image',
  logLevel: 'ferry.io/log-level',
  proxyCpu: 'ferry.io/proxy-cpu',
  proxyMemory: 'ferry.io/proxy-memory',
  proxyCpuLimit: 'ferry.io/proxy-cpu-limit',
  proxyMemoryLimit: 'ferry.io/proxy-memory-limit',
  excludeInboundPorts: 'ferry.io/exclude-inbound-ports',
  excludeOutboundPorts: 'ferry.io/exclude-outbound-ports',
  excludeOutboundCidrs: 'ferry.io/exclude-outbound-cidrs',
} as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

// https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[+-]?\d+)?$/;

/** What a pod's annotations change in the injected containers; absent means the default. */
export interface PodOverrides {
  readonly image?: string;
  readonly logLevel?: string;
  readonly cpu?: string;
  readonly memory?: string;
  readonly cpuLimit?: string;
  readonly memoryLimit?: string;
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  readonly excludeOutboundCidrs: readonly string[];
}

/** Whether `v` is a Kubernetes quantity (`100m`, `128Mi`, `1`). */
export function isQuantity(v: string): boolean {
  return QUANTITY.test(v.trim());
}

function bad(annotation: string, value: string, why: string): InjectError {
  return new InjectError(
    'FERRY_INJECT_BAD_ANNOTATION',
    `annotation ${annotation}: "${value}" ${why}`,
  );
}

/** The capture's own list parsers, with the annotation named in the error. */
function list<T>(
  annotation: string,
  value: string | undefined,
  parse: (what: string, value: string | undefined) => T[],
): T[] {
  try {
    return parse(annotation, value);
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    throw new InjectError('FERRY_INJECT_BAD_ANNOTATION', `annotation ${err.message}`);
  }
}

function quantity(annotations: StringMap, key: string): string | undefined {
  const v = annotations[key];
  if (v === undefined) return undefined;
  if (!isQuantity(v)) throw bad(key, v, 'is not a Kubernetes quantity (e.g. 100m, 128Mi)');
  return v.trim();
}

/** Reads every injection annotation of a pod; throws on the first bad one. */
export function readOverrides(annotations: StringMap): PodOverrides {
  const logLevel = annotations[ANNOTATIONS.logLevel];
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    throw bad(ANNOTATIONS.logLevel, logLevel, `is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const image = annotations[ANNOTATIONS.proxyImage];
  if (image !== undefined && (image.trim() === '' || /\s/.test(image.trim()))) {
    throw bad(ANNOTATIONS.proxyImage, image, 'is not an image reference');
  }
  return {
    image: image?.trim(),
    logLevel,
    cpu: quantity(annotations, ANNOTATIONS.proxyCpu),
    memory: quantity(annotations, ANNOTATIONS.proxyMemory),
    cpuLimit: quantity(annotations, ANNOTATIONS.proxyCpuLimit),
    memoryLimit: quantity(annotations, ANNOTATIONS.proxyMemoryLimit),
    excludeInboundPorts: list(
      ANNOTATIONS.excludeInboundPorts,
      annotations[ANNOTATIONS.excludeInboundPorts],
      parsePorts,
    ),
    excludeOutboundPorts: list(
      ANNOTATIONS.excludeOutboundPorts,
      annotations[ANNOTATIONS.excludeOutboundPorts],
      parsePorts,
    ),
    excludeOutboundCidrs: list(
      ANNOTATIONS.excludeOutboundCidrs,
      annotations[ANNOTATIONS.excludeOutboundCidrs],
      parseCidrs,
    ),
  };
}
