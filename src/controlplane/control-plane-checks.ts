/** The control plane's own health, as /debug/checks serves it for `ferry check`. */
import type { ControlPlaneIdentity } from './control-plane-identity.js';
import type { InjectionWebhook, WebhookCheck } from './injection-webhook.js';

export interface ControlPlaneChecks {
  /** Null when the CA is off. */
  readonly ca: {
    readonly trustDomain: string;
    readonly rootNotAfter: string;
    readonly certTtlMs: number;
    readonly spiffeId: string;
    /** The secure port's own certificate; null until issued. */
    readonly servingNotAfter: string | null;
  } | null;
  /** Null without the injection webhook. */
  readonly webhook: WebhookCheck | null;
}

export function controlPlaneChecks(
  identity: ControlPlaneIdentity | undefined,
  webhook: InjectionWebhook | undefined,
): ControlPlaneChecks {
  return {
    ca: identity
      ? {
          trustDomain: identity.ca.trustDomain,
          rootNotAfter: identity.ca.notAfter.toISOString(),
          certTtlMs: identity.ca.certTtlMs,
          spiffeId: identity.spiffeId,
          servingNotAfter: identity.serving.notAfter?.toISOString() ?? null,
        }
      : null,
    webhook: webhook?.check() ?? null,
  };
}
