/**
 * What the injector puts into a pod, before the pod's own annotations adjust it. The
 * control plane (webhook) and `ferry inject` (offline) fill it from their flags.
 */
import { INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT, PROXY_UID } from '../capture/index.js';
import type { MeshIdentityTemplate } from './identity-volume.js';
import { InjectError } from './inject-error.js';

export interface InjectionTemplate {
  /** The image with the `ferry` command, for the sidecar and for ferry-init. */
  readonly image: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** The control plane's xDS address, HOST:PORT, as `ferry proxy --xds` takes it. */
  readonly xdsAddress: string;
  /** Native sidecar (an init container with restartPolicy Always): Kubernetes >= 1.29. */
  readonly nativeSidecar: boolean;
  /**
   * Who installs the capture rules: the `ferry-init` container ('init', the default), or
   * the node's CNI plugin ('cni'), in which case pods need no NET_ADMIN init container.
   */
  readonly capture: 'init' | 'cni';
  readonly logLevel: string;
  readonly proxyUid: number;
  readonly cpu: string;
  readonly memory: string;
  readonly cpuLimit?: string;
  readonly memoryLimit?: string;
  /**
   * The mesh root and token the sidecar gets its certificate with (the webhook in cluster
   * sets it); absent: the sidecar talks to the control plane without TLS.
   */
  readonly identity?: MeshIdentityTemplate;
  readonly ports: {
    readonly inbound: number;
    readonly outbound: number;
    readonly admin: number;
    readonly metrics: number;
    readonly ready: number;
  };
}

export const DEFAULT_PROXY_IMAGE = 'ghcr.io/ferry-mesh/ferry:0.1.0';
export const DEFAULT_XDS_ADDRESS = 'ferry-control-plane.ferry-system.svc:15012';

export type TemplateOptions = Partial<Omit<InjectionTemplate, 'ports'>> & {
  readonly ports?: Partial<InjectionTemplate['ports']>;
};

/** Fills the defaults in and checks the xDS address. */
export function injectionTemplate(o: TemplateOptions = {}): InjectionTemplate {
  const xdsAddress = o.xdsAddress ?? DEFAULT_XDS_ADDRESS;
  if (!/^[^:\s]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(xdsAddress)) {
    throw new InjectError(
      'FERRY_INJECT_BAD_OPTION',
      `xDS address "${xdsAddress}" is not HOST:PORT`,
    );
  }
  return {
    image: o.image ?? DEFAULT_PROXY_IMAGE,
    imagePullPolicy: o.imagePullPolicy,
    xdsAddress,
    nativeSidecar: o.nativeSidecar ?? true,
    capture: o.capture ?? 'init',
    logLevel: o.logLevel ?? 'info',
    proxyUid: o.proxyUid ?? PROXY_UID,
    cpu: o.cpu ?? '100m',
    memory: o.memory ?? '128Mi',
    cpuLimit: o.cpuLimit,
    memoryLimit: o.memoryLimit,
    identity: o.identity,
    ports: {
      inbound: o.ports?.inbound ?? INBOUND_CAPTURE_PORT,
      outbound: o.ports?.outbound ?? OUTBOUND_CAPTURE_PORT,
      admin: o.ports?.admin ?? 15000,
      metrics: o.ports?.metrics ?? 15020,
      ready: o.ports?.ready ?? 15021,
    },
  };
}
