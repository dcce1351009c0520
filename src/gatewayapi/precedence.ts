/**
 * The order in which the matches of every route on one hostname are tried, as the
 * HTTPRoute spec ranks them: an Exact path, then (Ferry's choice where the spec leaves it to
 * the implementation) a RegularExpression, then the longest PathPrefix; then a method match;
 * then the most header matches; then the most query parameter matches. Ties go to the oldest
 * route (creationTimestamp), then the route first by `<namespace>/<name>`, then rule and
 * match order within the route.
 * https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule
 */
import type { HttpRoute, HttpRouteMatch } from './model.js';

export interface RankedMatch {
  readonly route: HttpRoute;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly match: HttpRouteMatch;
}

const PATH_RANK = { Exact: 0, RegularExpression: 1, PathPrefix: 2 } as const;

/** The prefix a PathPrefix match really matches: trailing slashes do not count. */
export function effectivePrefix(value: string): string {
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function pathLength(m: HttpRouteMatch): number {
  return m.path.type === 'PathPrefix' ? effectivePrefix(m.path.value).length : m.path.value.length;
}

/** Negative when `a` is tried before `b`. */
export function compareMatches(a: RankedMatch, b: RankedMatch): number {
  const am = a.match;
  const bm = b.match;
  return (
    PATH_RANK[am.path.type] - PATH_RANK[bm.path.type] ||
    pathLength(bm) - pathLength(am) ||
    Number(bm.method !== undefined) - Number(am.method !== undefined) ||
    bm.headers.length - am.headers.length ||
    bm.queryParams.length - am.queryParams.length ||
    compareAge(a.route, b.route) ||
    a.ruleIndex - b.ruleIndex ||
    a.matchIndex - b.matchIndex
  );
}

/** The older route first; an undated one (the mesh file) after dated ones; then by name. */
function compareAge(a: HttpRoute, b: HttpRoute): number {
  const at = a.metadata.creationTimestamp;
  const bt = b.metadata.creationTimestamp;
  if (at !== bt) {
    if (at === '') return 1;
    if (bt === '') return -1;
    const diff = Date.parse(at) - Date.parse(bt);
    if (diff !== 0) return diff;
  }
  const an = `${a.metadata.namespace}/${a.metadata.name}`;
  const bn = `${b.metadata.namespace}/${b.metadata.name}`;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** Every match of `routes`, in the order they are to be tried. */
export function rankMatches(routes: readonly HttpRoute[]): RankedMatch[] {
  const all: RankedMatch[] = [];
  for (const route of routes) {
    route.rules.forEach((rule, ruleIndex) => {
      rule.matches.forEach((match, matchIndex) => {
        all.push({ route, ruleIndex, matchIndex, match });
      });
    });
  }
  return all.sort(compareMatches);
}
