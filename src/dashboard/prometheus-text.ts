/**
 * A parser for the Prometheus text exposition format 0.0.4, enough for what sidecars serve:
 * `# HELP`/`# TYPE` lines, samples with labels (escaped `\\`, `\"`, `\n`), optional
 * timestamps, NaN and ±Inf. https://prometheus.io/docs/instrumenting/exposition_formats/
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

/** A line that is not valid exposition text. */
export class PrometheusTextError extends Error {
  readonly code = 'FERRY_PROMETHEUS_TEXT';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'PrometheusTextError';
  }
}

function parseValue(text: string, line: number): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
      return Number.NaN;
  }
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new PrometheusTextError(line, `bad value "${text}"`);
  return n;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Every sample in `text`. `keep` (by metric name, histogram suffixes included) lets a caller
 * skip the series it does not need before their labels are parsed.
 */
export function parsePrometheusText(text: string, keep?: (name: string) => boolean): Sample[] {
  const out: Sample[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = NAME.exec(line);
    if (!m) throw new PrometheusTextError(lineNo, `expected a metric name: "${line.slice(0, 40)}"`);
    const name = m[0];
    if (keep && !keep(name)) continue;
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        const lm = LABEL.exec(line.slice(i));
        if (!lm) throw new PrometheusTextError(lineNo, `bad label name at column ${i + 1}`);
        i += lm[0].length;
        if (line[i] !== '=' || line[i + 1] !== '"') {
          throw new PrometheusTextError(lineNo, `expected ="value" after label ${lm[0]}`);
        }
        i += 2;
        let value = '';
        for (;;) {
          const c = line[i];
          if (c === undefined) throw new PrometheusTextError(lineNo, 'unterminated label value');
          i++;
          if (c === '"') break;
          if (c === '\\') {
            const e = line[i++];
            value += e === 'n' ? '\n' : (e ?? '');
          } else value += c;
        }
        labels[lm[0]] = value;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    out.push({ name, labels, value: parseValue(rest[0] ?? '', lineNo) });
  }
  return out;
}
