/** What a control plane is started with. */
import type { KubeConfig } from '@kubernetes/client-node';
import type { TargetSource } from '../dashboard/index.js';
import type { CredentialVerifier, IdentityTimers, OperatorCaFiles } from '../identity/index.js';
import type { TemplateOptions } from '../kube/inject/index.js';
import type { Logger } from '../log/index.js';
import type { MeshConfig } from '../mesh/index.js';
import type { AdsLimits } from './ads-limits.js';

export interface ControlPlaneOptions {
  /** The mesh file; watched for changes. Either this or `config`. */
  readonly configPath?: string;
  readonly config?: MeshConfig;
  /** Address to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** xDS gRPC port (plaintext). Default 15010; 0 picks a free port. */
  readonly xdsPort?: number;
  /** HTTP debug port. Default 15014; 0 picks a free port. */
  readonly httpPort?: number;
  readonly gracePeriodMs?: number;
  readonly debounceMs?: number;
  /**
   * After start, sidecars that reconnect with a config in hand are held (they keep serving
   * it) for this long, so that workloads which register by connecting can come back first.
   * Default 5 s; 0 turns it off.
   */
  readonly warmupMs?: number;
  /**
   * The CA directory: turns on the CA, the identity service (on both gRPC ports) and the
   * secure port. Holds the root Ferry makes on first start (or a plugged-in CA, see
   * src/identity/ca-directory.ts) and the workload-token key.
   */
  readonly caDir?: string;
  /** An operator's CA given as files, instead of what the CA directory holds. */
  readonly caFiles?: OperatorCaFiles;
  /** SPIFFE trust domain of issued certificates. Default: the mesh file's mesh.trustDomain. */
  readonly trustDomain?: string;
  /** Lifetime of workload certificates. Default 24 h. */
  readonly certTtlMs?: number;
  /** xDS + identity over TLS. Default 15012; 0 picks a free port. Needs caDir. */
  readonly securePort?: number;
  /** The control plane's namespace in its SPIFFE ID. Default ferry-system. */
  readonly namespace?: string;
  /** Extra DNS names / addresses in the serving certificate (besides host and loopback). */
  readonly serverNames?: readonly string[];
  /** How workload credentials are checked. Default: Ferry tokens keyed in the CA directory. */
  readonly credentialVerifier?: CredentialVerifier;
  /**
   * Development only: with the CA on, the plaintext port still registers workloads, without
   * any credential (anyone can then join any service). Off by default; logged at warn.
   */
  readonly allowPlaintextRegistration?: boolean;
  /**
   * Development only: with the CA on, the plaintext port also signs certificate requests
   * (their tokens then cross the network in the clear). Off by default, as in istiod, whose
   * CA is on its TLS port only: a CSR there is refused with FAILED_PRECONDITION. Logged at
   * warn.
   */
  readonly allowPlaintextCsr?: boolean;
  /**
   * A bearer token that lets clients other than loopback read /debug/config_dump,
   * /debug/registry and /debug/syncz. Absent: those answer loopback clients only.
   */
  readonly debugToken?: string;
  /** Bounds against abusive xDS clients (subscription size, SotW cache); see ads-limits.ts. */
  readonly limits?: Partial<AdsLimits>;
  /**
   * Timers of the serving certificate's renewal (tests drive it by hand). Certificate
   * validity itself always follows the real clock, as the peers checking it do.
   */
  readonly timers?: IdentityTimers;
  /** Dashboard: read the mesh's numbers from this Prometheus instead of scraping sidecars. */
  readonly prometheusUrl?: string;
  /** Dashboard: how often the sidecars are scraped. Default 5 s. */
  readonly scrapeIntervalMs?: number;
  /** Dashboard: who to scrape; default every connected sidecar that announced its metrics. */
  readonly scrapeTargets?: TargetSource;
  /** Kubernetes: the API server, and what the control plane does with it. */
  readonly kubernetes?: KubernetesOptions;
  /** The injection webhook (HTTPS), served with a certificate from the mesh CA. */
  readonly webhook?: WebhookOptions;
  /**
   * The control plane's Service (in `namespace`): its DNS names go into the serving
   * certificate, which the webhook serves too. Default ferry-control-plane.
   */
  readonly serviceName?: string;
  readonly log: Logger;
}

export interface KubernetesOptions {
  readonly kubeConfig: KubeConfig;
  /** Services, EndpointSlices, Pods and Namespaces as a source of the registry. */
  readonly discovery: boolean;
  /** Keep the CA root in this Secret of `namespace` (made on first start). */
  readonly caSecret?: string;
  /** Check workload credentials as service-account tokens, by TokenReview. */
  readonly tokenReview?: boolean;
  /** Audiences a service-account token must be issued for. */
  readonly tokenAudiences?: readonly string[];
  /** How long start-up waits for the cluster's first listing. Default 10 s. */
  readonly syncTimeoutMs?: number;
  /** First delay before a failed list or watch is tried again. Default 1 s. */
  readonly retryMs?: number;
}

export interface WebhookOptions {
  /** 15017 in cluster; 0 picks a free port. */
  readonly port: number;
  /** What injected pods get; the xDS address defaults to <service>.<namespace>.svc:15012. */
  readonly template: Omit<TemplateOptions, 'nativeSidecar'>;
  /** The MutatingWebhookConfiguration whose caBundle is kept (needs `kubernetes`). */
  readonly config?: string;
  /** How often the caBundle is checked again. Default 60 s. */
  readonly resyncMs?: number;
}

export const DEFAULT_SERVICE_NAME = 'ferry-control-plane';
