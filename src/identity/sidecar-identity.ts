/**
 * Everything a sidecar needs to talk to the control plane's secure port, in one call:
 * channel credentials that trust the mesh root and accept only the control plane's
 * SPIFFE ID (for xDS and the identity API alike), and the WorkloadIdentity that keeps
 * its certificate. The CLI reads the root and token files; this module takes their
 * contents (the token through a function, so a replaced token file is picked up).
 */
import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/index.js';
import { controlPlaneCredentials, controlPlaneSpiffeId } from './control-plane-tls.js';
import { createIdentityClient } from './identity-api.js';
import { spiffeIdOf, type WorkloadName } from './spiffe-id.js';
import { type IdentityTimers, WorkloadIdentity } from './workload-identity.js';

export interface SidecarIdentityOptions {
  /** host:port of the control plane's secure port. */
  readonly address: string;
  /** The mesh root(s), PEM (the CA directory's root-cert.pem, or --ca-root FILE). */
  readonly rootPem: string;
  readonly trustDomain: string;
  /** Namespace of the control plane's SPIFFE ID. Default ferry-system. */
  readonly controlPlaneNamespace?: string;
  /** Who this sidecar is (asked for in the CSR; the credential must prove it). */
  readonly workload: WorkloadName;
  readonly credential: () => string | Promise<string>;
  readonly log: Logger;
  readonly timers?: IdentityTimers;
  readonly random?: () => number;
}

export interface SidecarIdentity {
  /** For the xDS client (XdsClientOptions.credentials). */
  readonly credentials: grpc.ChannelCredentials;
  readonly identity: WorkloadIdentity;
  readonly controlPlaneId: string;
}

export function sidecarIdentity(options: SidecarIdentityOptions): SidecarIdentity {
  const controlPlaneId = controlPlaneSpiffeId(options.trustDomain, options.controlPlaneNamespace);
  const credentials = controlPlaneCredentials(options.rootPem, controlPlaneId);
  const identity = new WorkloadIdentity({
    api: createIdentityClient(options.address, credentials),
    credential: options.credential,
    spiffeId: spiffeIdOf(options.trustDomain, options.workload),
    log: options.log,
    timers: options.timers,
    random: options.random,
  });
  return { credentials, identity, controlPlaneId };
}

/** A credential read afresh from a file on every request (a rotated token is picked up). */
export function credentialFromFile(file: string): () => string {
  return () => readFileSync(file, 'utf8').trim();
}
