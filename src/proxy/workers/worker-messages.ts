/**
 * What the primary and its workers say to each other over IPC: the configuration (the xDS
 * resources the primary's one ADS stream accepted) and the workload certificate go to the
 * workers; each worker says which configuration it applied, and answers for its metrics and
 * its clusters.
 */
import type { ClusterView } from '../admin/index.js';
import type { WorkloadCertificate } from '../tls/index.js';

/** A resource as it crosses IPC: its decoded value, not what the primary compiled of it. */
export interface WireEntry {
  readonly name: string;
  readonly version: string;
  readonly value: Record<string, unknown>;
}

/** A ProxyConfig as plain data (Maps and compiled forms do not cross IPC). */
export interface WireConfig {
  readonly version: number;
  readonly listeners: readonly WireEntry[];
  readonly routes: readonly WireEntry[];
  readonly clusters: readonly WireEntry[];
  readonly endpoints: readonly WireEntry[];
  readonly secrets: readonly WireEntry[];
}

export type ToWorker =
  | { readonly type: 'ferry:config'; readonly config: WireConfig }
  | { readonly type: 'ferry:certificate'; readonly certificate: WorkloadCertificate }
  | { readonly type: 'ferry:metrics'; readonly id: number }
  | { readonly type: 'ferry:clusters'; readonly id: number }
  /**
   * Compile these resources of a response that completed no configuration yet, as a single
   * process compiles a response on arrival, and keep them for the configuration to come.
   */
  | {
      readonly type: 'ferry:check';
      readonly id: number;
      readonly typeUrl: string;
      readonly entries: readonly WireEntry[];
    }
  | { readonly type: 'ferry:drain'; readonly drainMs: number };

export type FromWorker =
  /** The worker listens for messages now (what is sent before is lost): send it everything. */
  | { readonly type: 'ferry:hello' }
  | { readonly type: 'ferry:applied'; readonly version: number; readonly error?: string }
  /** The worker cannot run this configuration (it keeps its last one): the primary NACKs it. */
  | { readonly type: 'ferry:refused'; readonly version: number; readonly error: string }
  /** The worker's listening sockets are bound: their ports (shared by every worker). */
  | { readonly type: 'ferry:listening'; readonly ports: Readonly<Record<string, number>> }
  | {
      readonly type: 'ferry:metrics';
      readonly id: number;
      readonly text: string;
      readonly stats: Readonly<Record<string, number | string>>;
    }
  /** Whether it compiled the resources of a `ferry:check` (error: why not, as a NACK says it). */
  | { readonly type: 'ferry:checked'; readonly id: number; readonly error?: string }
  /** Its clusters with their hosts' health and counters (GET /clusters). */
  | { readonly type: 'ferry:clusters'; readonly id: number; readonly clusters: ClusterView[] };

export function isFerryMessage(m: unknown): m is { type: string } {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as { type?: unknown }).type === 'string' &&
    (m as { type: string }).type.startsWith('ferry:')
  );
}
