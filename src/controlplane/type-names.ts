import { types } from '../xds/index.js';

/** [type URL, short name] for every resource type served. */
export function shortTypeNames(): Array<[string, string]> {
  return types.RESOURCE_TYPES.map((url) => [url, types.shortTypeName(url)]);
}
