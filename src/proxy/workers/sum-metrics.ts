/**
 * The primary's /stats/prometheus: every worker's exposition text summed into one, as if one
 * process had handled everything. Counters and histogram series (buckets, sums, counts) add
 * up; a gauge adds up when it counts something each worker has (connections, pools), and is
 * the highest worker's value when every worker has the same one (the configuration version,
 * build info, whether xDS is connected).
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */

/** Gauges that are one value for the whole proxy, not a count per worker. */
const SHARED_GAUGES: ReadonlySet<string> = new Set([
  'ferry_proxy_config_version',
  'ferry_proxy_xds_connected',
  'istio_build',
  'ferry_proxy_endpoint_unhealthy',
]);

/** The metric name of a sample line (up to `{` or the space). */
function sampleName(line: string): string {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  return line.slice(0, brace >= 0 && brace < space ? brace : space);
}

export function sumPrometheusText(texts: readonly string[]): string {
  const order: string[] = [];
  const comments = new Map<string, string[]>();
  const values = new Map<string, number>();
  const gaugeShared = new Set<string>();
  const seriesOf = new Map<string, string[]>();
  for (const text of texts) {
    let family = '';
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const [, kind, name, type] = line.split(' ');
        family = name ?? '';
        if (!comments.has(family)) {
          comments.set(family, []);
          seriesOf.set(family, []);
          order.push(family);
        }
        const c = comments.get(family)!;
        if (!c.includes(line)) c.push(line);
        if (kind === 'TYPE' && type === 'gauge' && SHARED_GAUGES.has(family))
          gaugeShared.add(family);
        continue;
      }
      const space = line.lastIndexOf(' ');
      const key = line.slice(0, space);
      const value = Number(line.slice(space + 1));
      const name = sampleName(line);
      const owner = comments.has(family) ? family : name;
      if (!seriesOf.has(owner)) {
        seriesOf.set(owner, []);
        comments.set(owner, []);
        order.push(owner);
      }
      const before = values.get(key);
      if (before === undefined) seriesOf.get(owner)!.push(key);
      values.set(
        key,
        before === undefined
          ? value
          : gaugeShared.has(owner)
            ? Math.max(before, value)
            : before + value,
      );
    }
  }
  const out: string[] = [];
  for (const family of order) {
    out.push(...comments.get(family)!);
    for (const key of seriesOf.get(family)!) out.push(`${key} ${values.get(key)}`);
  }
  return `${out.join('\n')}\n`;
}
