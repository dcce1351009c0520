/**
 * Request and response header modifiers of a route, its virtual host and its route
 * configuration (request_headers_to_add/_remove, response_headers_to_add/_remove), compiled
 * once into one list of operations per direction, so a request pays one loop over a few
 * entries and a route without any pays nothing (undefined). As Envoy: removals first, then
 * additions; the route's own first, then its virtual host's, then the configuration's (the
 * outer level wins, Envoy's default most_specific_header_mutations_wins: false); each
 * addition by its append_action (the legacy `append` when none: true means append).
 * Values are literal: Envoy's %COMMAND% substitutions are not supported and are refused.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#custom-request-response-headers
 */
import type { envoy } from '../../xds/index.js';

/** Headers as the data path holds them: lower-case names. */
export type MutableHeaders = Record<string, string | string[] | number | undefined>;

/** One level's modifiers, as the xDS fields name them. */
export interface HeaderLevel {
  readonly add?: readonly envoy.HeaderValueOption[];
  readonly remove?: readonly string[];
}

type Action = 'append' | 'add-if-absent' | 'overwrite' | 'overwrite-if-exists';

interface Addition {
  readonly name: string;
  readonly value: string;
  readonly action: Action;
}

const ACTIONS: Readonly<Record<string, Action>> = {
  APPEND_IF_EXISTS_OR_ADD: 'append',
  ADD_IF_ABSENT: 'add-if-absent',
  OVERWRITE_IF_EXISTS_OR_ADD: 'overwrite',
  OVERWRITE_IF_EXISTS: 'overwrite-if-exists',
};

/** Pseudo-headers and Host are the router's to set (host_rewrite), not a modifier's. */
const PROTECTED = /^(:|host$)/;

export class HeaderMutation {
  constructor(
    private readonly removals: readonly string[],
    private readonly additions: readonly Addition[],
  ) {}

  apply(headers: MutableHeaders): void {
    for (const name of this.removals) delete headers[name];
    for (const a of this.additions) {
      const before = headers[a.name];
      switch (a.action) {
        case 'append':
          headers[a.name] =
            before === undefined
              ? a.value
              : Array.isArray(before)
                ? [...before, a.value]
                : [String(before), a.value];
          break;
        case 'add-if-absent':
          if (before === undefined) headers[a.name] = a.value;
          break;
        case 'overwrite':
          headers[a.name] = a.value;
          break;
        case 'overwrite-if-exists':
          if (before !== undefined) headers[a.name] = a.value;
      }
    }
  }
}

/** The modifiers of `levels` (innermost first) as one mutation; undefined when there are none. */
export function compileHeaderMutation(
  levels: readonly HeaderLevel[],
  where: string,
  errors: string[],
): HeaderMutation | undefined {
  const removals: string[] = [];
  const additions: Addition[] = [];
  for (const level of levels) {
    for (const raw of level.remove ?? []) {
      const name = raw.toLowerCase();
      if (PROTECTED.test(name)) errors.push(`${where}: header "${raw}" cannot be removed`);
      else removals.push(name);
    }
    for (const option of level.add ?? []) {
      const name = (option.header?.key ?? '').toLowerCase();
      const value =
        option.header?.value ??
        (option.header?.raw_value === undefined
          ? ''
          : Buffer.from(option.header.raw_value, 'base64').toString('latin1'));
      if (!name || PROTECTED.test(name)) {
        errors.push(`${where}: header "${name}" cannot be added`);
        continue;
      }
      if (/%[A-Z_]+(\(.*\))?%/.test(value)) {
        errors.push(`${where}: header "${name}": %COMMAND% substitutions are not supported`);
        continue;
      }
      // Envoy drops an addition with an empty value unless keep_empty_value is set.
      if (value === '' && option.keep_empty_value !== true) continue;
      const action: Action | undefined =
        option.append_action !== undefined
          ? ACTIONS[option.append_action]
          : option.append?.value === false
            ? 'overwrite'
            : 'append';
      if (!action) {
        errors.push(`${where}: header "${name}": append_action ${option.append_action}`);
        continue;
      }
      additions.push({ name, value, action });
    }
  }
  if (removals.length === 0 && additions.length === 0) return undefined;
  return new HeaderMutation(Object.freeze(removals), Object.freeze(additions));
}
