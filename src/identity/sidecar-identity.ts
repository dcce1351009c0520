/**
 * Everything a sidecar needs to talk to the control plane's secure port, in one call:
 * channel credentials that trust the mesh root and accept only the control plane's
 * SPIFFE ID (for xDS and the identity API alike), and the WorkloadIdentity that keeps
 * its certificate. The CLI reads the root and token files; this module takes their
 * contents (the token through a function, so a replaced token file is picked up).
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/index.js';
import { controlPlaneCredentials, controlPlaneSpiffeId } from './control-plane-tls.js';
import { createIdentityClient } from './identity-api.js';
import { spiffeIdOf, type WorkloadName } from './spiffe-id.js';
import {
  type IdentityTimers,
  WorkloadIdentity,
  type WorkloadIdentityOptions,
} from './workload-identity.js';

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
  /** See WorkloadIdentityOptions. */
  readonly maxCredentialFailures?: number;
  readonly diagnose?: WorkloadIdentityOptions['diagnose'];
}

export interface SidecarIdentity {
  /**
   * For the xDS client (XdsClientOptions.credentials): TLS to the control plane, and the
   * credential on every call (`authorization: Bearer <token>`), which the control plane
   * checks before it registers the workload. grpc-js sends call credentials only over TLS.
   */
  readonly credentials: grpc.ChannelCredentials;
  readonly identity: WorkloadIdentity;
  readonly controlPlaneId: string;
}

export function sidecarIdentity(options: SidecarIdentityOptions): SidecarIdentity {
  const controlPlaneId = controlPlaneSpiffeId(options.trustDomain, options.controlPlaneNamespace);
  const channel = controlPlaneCredentials(options.rootPem, controlPlaneId);
  const credentials = grpc.credentials.combineChannelCredentials(
    channel,
    bearerCredentials(options.credential),
  );
  const identity = new WorkloadIdentity({
    api: createIdentityClient(options.address, channel),
    credential: options.credential,
    spiffeId: spiffeIdOf(options.trustDomain, options.workload),
    log: options.log,
    timers: options.timers,
    random: options.random,
    maxCredentialFailures: options.maxCredentialFailures,
    diagnose: options.diagnose,
  });
  return { credentials, identity, controlPlaneId };
}

/** The credential as `authorization: Bearer <token>` on each call, read when the call starts. */
export function bearerCredentials(
  credential: () => string | Promise<string>,
): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    Promise.resolve()
      .then(credential)
      .then(
        (token) => {
          const metadata = new grpc.Metadata();
          metadata.set('authorization', `Bearer ${token}`);
          callback(null, metadata);
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
  });
}

/** A credential read afresh from a file on every request (a rotated token is picked up). */
export function credentialFromFile(file: string): () => string {
  return () => readFileSync(file, 'utf8').trim();
}
