/**
 * The control plane's identity part: the CA (a directory, an operator's files or a
 * Kubernetes Secret), what checks workload credentials (Ferry tokens or TokenReview), the
 * identity service that signs workload CSRs, and the control plane's own serving
 * certificate for the secure port and the webhook.
 */
import { AuthenticationV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  CertificateAuthority,
  type CredentialVerifier,
  checkTrustDomain,
  controlPlaneSpiffeId,
  DEFAULT_FERRY_NAMESPACE,
  IdentityService,
  type IdentityTimers,
  loadCaDirectory,
  loadOperatorCa,
  loadOrCreateTokenKey,
  ServingCertificate,
  WorkloadTokens,
} from '../identity/index.js';
import { TokenReviewVerifier } from '../kube/discovery/index.js';
import type { MeshConfig } from '../mesh/index.js';
import type { MetricsRegistry } from '../metrics/index.js';
import { ControlPlaneError } from './control-plane-error.js';
import { type ControlPlaneOptions, DEFAULT_SERVICE_NAME } from './control-plane-options.js';
import { loadOrCreateCaSecret } from './kubernetes/index.js';

/** What the CA part of the control plane holds once started. */
export interface ControlPlaneIdentity {
  readonly ca: CertificateAuthority;
  readonly service: IdentityService;
  readonly serving: ServingCertificate;
  /** The SPIFFE ID the control plane serves the secure port with. */
  readonly spiffeId: string;
  /** Present when the CA directory keys Ferry tokens (the default verifier). */
  readonly tokens: WorkloadTokens | undefined;
  /** What checks workload credentials (CSRs and registrations alike). */
  readonly verifier: CredentialVerifier;
}

const REAL_TIMERS: IdentityTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * The names in the serving certificate: loopback, the address listened on, the Service's
 * names (as clients in the cluster, and the API server calling the webhook at
 * <service>.<namespace>.svc, reach the control plane), and any extra names given.
 */
export function servingHosts(
  options: Pick<ControlPlaneOptions, 'serviceName' | 'serverNames'>,
  namespace: string,
  domain: string,
  host: string,
): string[] {
  const serviceName = options.serviceName ?? DEFAULT_SERVICE_NAME;
  const serviceNames = [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.${domain}`,
  ];
  const unspecified = host === '0.0.0.0' || host === '::';
  return [
    ...new Set([
      'localhost',
      '127.0.0.1',
      '::1',
      ...(unspecified ? [] : [host]),
      ...serviceNames,
      ...(options.serverNames ?? []),
    ]),
  ];
}

/** Loads (or makes) the CA, the credential check and the serving certificate. */
export async function startIdentity(
  options: ControlPlaneOptions,
  mesh: MeshConfig,
  host: string,
  metrics: MetricsRegistry,
): Promise<ControlPlaneIdentity> {
  const log = options.log;
  const trustDomain = checkTrustDomain(options.trustDomain ?? mesh.mesh.trustDomain);
  const timers = options.timers ?? REAL_TIMERS;
  const kube = options.kubernetes;
  const namespace = options.namespace ?? DEFAULT_FERRY_NAMESPACE;
  const material = options.caFiles
    ? await loadOperatorCa(options.caFiles)
    : kube?.caSecret
      ? (
          await loadOrCreateCaSecret({
            api: kube.kubeConfig.makeApiClient(CoreV1Api),
            namespace,
            name: kube.caSecret,
            trustDomain,
            log,
          })
        ).material
      : (await loadCaDirectory(options.caDir ?? '', { trustDomain, log })).material;
  const ca = new CertificateAuthority(material, { trustDomain, certTtlMs: options.certTtlMs });
  const tokens =
    options.caDir !== undefined
      ? new WorkloadTokens(loadOrCreateTokenKey(options.caDir))
      : undefined;
  const verifier =
    options.credentialVerifier ??
    (kube?.tokenReview
      ? new TokenReviewVerifier({
          api: kube.kubeConfig.makeApiClient(AuthenticationV1Api),
          audiences: kube.tokenAudiences,
        })
      : tokens);
  if (!verifier)
    throw new ControlPlaneError(
      'FERRY_NO_CREDENTIALS',
      'the CA is on but nothing checks workload credentials: give a CA directory (--ca-dir) or check service-account tokens by TokenReview',
    );
  const service = new IdentityService({
    ca,
    verifier,
    metrics,
    log,
    allowPlaintext: options.allowPlaintextCsr === true,
  });
  const spiffeId = controlPlaneSpiffeId(trustDomain, namespace);
  const hosts = servingHosts(options, namespace, mesh.mesh.domain, host);
  const serving = new ServingCertificate({ ca, spiffeId, hosts, log, timers });
  await serving.start();
  return { ca, service, serving, spiffeId, tokens, verifier };
}
