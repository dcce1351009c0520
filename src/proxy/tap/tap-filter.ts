/**
 * Which requests a tap subscriber wants, from the admin endpoint's query string (the
 * filters of `linkerd viz tap`: --method, --path, --authority, --to, --from, plus the
 * direction). Checked whole: an unknown or malformed parameter is an error naming it.
 */
import { FerryError } from '../../errors/index.js';
import type { TapDirection, TapEvent } from './tap-event.js';

export interface TapFilter {
  readonly direction: TapDirection | undefined;
  /** Exact, upper case. */
  readonly method: string | undefined;
  readonly pathPrefix: string | undefined;
  /** `host` or `host:port`. */
  readonly authority: string | undefined;
  /** `name`, `name.namespace`. */
  readonly to: string | undefined;
  /** `name`, `name.namespace` or a SPIFFE ID. */
  readonly from: string | undefined;
  /** Events per second sent to this subscriber at most; the rest are counted as dropped. */
  readonly maxRps: number;
}

/** Linkerd's default --max-rps. */
export const DEFAULT_TAP_MAX_RPS = 100;
const MAX_TAP_RPS = 10_000;

export class TapFilterError extends FerryError {
  constructor(message: string) {
    super('FERRY_TAP_BAD_FILTER', message);
  }
}

const PARAMS = ['direction', 'method', 'path', 'authority', 'to', 'from', 'max_rps'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseTapFilter(params: URLSearchParams): TapFilter {
  for (const key of params.keys()) {
    if (!PARAMS.includes(key)) {
      throw new TapFilterError(`unknown tap parameter "${key}" (known: ${PARAMS.join(', ')})`);
    }
  }
  const get = (key: string): string | undefined => {
    const v = params.get(key);
    return v === null || v === '' ? undefined : v;
  };
  const direction = get('direction');
  if (direction !== undefined && direction !== 'inbound' && direction !== 'outbound') {
    throw new TapFilterError(`direction must be inbound or outbound, got "${direction}"`);
  }
  const method = get('method');
  if (method !== undefined && !TOKEN.test(method)) {
    throw new TapFilterError(`method must be an HTTP method like GET, got "${method}"`);
  }
  const path = get('path');
  if (path !== undefined && !path.startsWith('/')) {
    throw new TapFilterError(`path must be a path prefix starting with "/", got "${path}"`);
  }
  const rawRps = get('max_rps');
  const maxRps = rawRps === undefined ? DEFAULT_TAP_MAX_RPS : Number(rawRps);
  if (!Number.isInteger(maxRps) || maxRps < 1 || maxRps > MAX_TAP_RPS) {
    throw new TapFilterError(
      `max_rps must be a whole number from 1 to ${MAX_TAP_RPS}, got "${rawRps}"`,
    );
  }
  return {
    direction,
    method: method?.toUpperCase(),
    pathPrefix: path,
    authority: get('authority')?.toLowerCase(),
    to: get('to'),
    from: get('from'),
    maxRps,
  };
}

/** `name` matches `name.namespace`; `name.namespace` matches itself. */
function sameWorkload(wanted: string, actual: string): boolean {
  return actual === wanted || actual.startsWith(`${wanted}.`);
}

function authorityMatches(wanted: string, actual: string): boolean {
  const a = actual.toLowerCase();
  if (a === wanted) return true;
  // `reviews` matches `reviews:9080`, not `reviews-v2:9080`.
  return a.startsWith(wanted) && a.charCodeAt(wanted.length) === 58 /* ':' */;
}

export function tapMatches(f: TapFilter, e: TapEvent): boolean {
  if (f.direction !== undefined && f.direction !== e.direction) return false;
  if (f.method !== undefined && f.method !== e.method) return false;
  if (f.pathPrefix !== undefined && !e.path.startsWith(f.pathPrefix)) return false;
  if (f.authority !== undefined && !authorityMatches(f.authority, e.authority)) return false;
  if (f.to !== undefined && !sameWorkload(f.to, e.destination)) return false;
  if (f.from !== undefined && !(f.from === e.peer || sameWorkload(f.from, e.source))) return false;
  return true;
}
