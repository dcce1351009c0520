/**
 * Bounds on what one xDS client can make the control plane do or keep (issue 12, "bounded
 * under abuse"): a subscription's size, the shared SotW response cache, the type URLs a
 * stream may open, and what a NACK may make it store. Every refusal is a clear gRPC status
 * and a count in ferry_xds_limit_refusals_total{limit}.
 */
import { types } from '../xds/index.js';

export interface AdsLimits {
  /** Names one stream may subscribe to, per resource type. Default 100,000. */
  readonly maxSubscribedNames: number;
  /** SotW response bodies kept for reuse, at most. Default 1,024. */
  readonly sotwCacheEntries: number;
  /** ...and at most this many bytes of them. Default 64 MiB. */
  readonly sotwCacheBytes: number;
}

export const DEFAULT_ADS_LIMITS: AdsLimits = {
  maxSubscribedNames: 100_000,
  sotwCacheEntries: 1024,
  sotwCacheBytes: 64 * 1024 * 1024,
};

/** What a refusal was about (the metric label). */
export type LimitKind = 'subscribed_names' | 'unknown_type';
export const LIMIT_KINDS: readonly LimitKind[] = ['subscribed_names', 'unknown_type'];

/**
 * Envoy's xDS v3 resource types. Ferry serves CDS, EDS, LDS, RDS and SDS; the others are
 * answered with no resources (as a type not served), anything else is refused, so that a
 * client cannot make a stream keep state for an unbounded number of made-up types.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#resource-types
 */
const KNOWN_TYPES: ReadonlySet<string> = new Set([
  ...types.RESOURCE_TYPES,
  ...types.UNSERVED_RESOURCE_TYPES,
]);

export function isKnownType(typeUrl: string): boolean {
  return KNOWN_TYPES.has(typeUrl);
}

/** A NACK's message is kept and logged up to this many characters. */
export const MAX_NACK_MESSAGE = 1024;

/** A client's NACK message, cut to MAX_NACK_MESSAGE. */
export function boundedMessage(message: string): string {
  return message.length <= MAX_NACK_MESSAGE
    ? message
    : `${message.slice(0, MAX_NACK_MESSAGE)}… (${message.length} characters)`;
}
