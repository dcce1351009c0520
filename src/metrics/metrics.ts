/**
 * A small Prometheus metrics registry. Label values are bound once (`labels(...)` returns
 * a child that callers keep), so recording a sample on a hot path is a field update with
 * no string building. Exposition follows the Prometheus text format 0.0.4.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */

type LabelValues = readonly string[];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: LabelValues, extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatNumber(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

interface Metric {
  readonly name: string;
  render(out: string[]): void;
}

abstract class Family<Child> implements Metric {
  private readonly children = new Map<string, { values: LabelValues; child: Child }>();
  private refresh: (() => void) | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract create(): Child;
  protected abstract renderChild(out: string[], labels: LabelValues, child: Child): void;
  protected abstract get kind(): string;

  protected checkLabels(values: LabelValues): void {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name}: expected ${this.labelNames.length} label values`);
    }
  }

  /** The child for these label values; keep it to record without lookups. */
  labels(...values: string[]): Child {
    this.checkLabels(values);
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      entry = { values, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** Forgets every child (e.g. a gauge whose label sets come and go). */
  reset(): void {
    this.children.clear();
  }

  /**
   * Called before each render, for a family whose label sets are a view of state kept
   * elsewhere (e.g. the endpoints unhealthy now): it resets and sets its children.
   */
  beforeRender(refresh: () => void): this {
    this.refresh = refresh;
    return this;
  }

  render(out: string[]): void {
    this.refresh?.();
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`);
    for (const { values, child } of this.children.values()) this.renderChild(out, values, child);
  }
}

/**
 * A counter or gauge: one number per label set, either kept in a child or read from the
 * object that owns the number (`readFrom`), so a value counted elsewhere has one home and
 * is never copied into the registry (prom-client's collect(), without the copy).
 */
abstract class ScalarFamily<Child extends { readonly value: number }> extends Family<Child> {
  private readonly reads: Array<{ values: LabelValues; read: () => number }> = [];

  /** A series whose value is `read()` at each render. */
  readFrom(read: () => number, ...values: string[]): this {
    this.checkLabels(values);
    this.reads.push({ values, read });
    return this;
  }

  protected renderChild(out: string[], labels: LabelValues, c: Child): void {
    this.renderValue(out, labels, c.value);
  }

  private renderValue(out: string[], labels: LabelValues, value: number): void {
    out.push(`${this.name}${labelText(this.labelNames, labels)} ${formatNumber(value)}`);
  }

  override render(out: string[]): void {
    super.render(out);
    for (const { values, read } of this.reads) this.renderValue(out, values, read());
  }
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class Counter extends ScalarFamily<CounterChild> {
  protected get kind() {
    return 'counter';
  }
  protected create() {
    return new CounterChild();
  }
}

export class GaugeChild {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export class Gauge extends ScalarFamily<GaugeChild> {
  protected get kind() {
    return 'gauge';
  }
  protected create() {
    return new GaugeChild();
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length);
  }
  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    if (i < b.length) this.counts[i]++;
    this.sum += v;
    this.count++;
  }
  /** The value below which a share q of observations fall, estimated from the buckets. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      const prev = seen;
      seen += this.counts[i];
      if (seen >= rank) {
        const lower = i === 0 ? 0 : this.buckets[i - 1];
        const inBucket = this.counts[i];
        return lower + (this.buckets[i] - lower) * (inBucket ? (rank - prev) / inBucket : 0);
      }
    }
    return this.buckets[this.buckets.length - 1];
  }
}

export class Histogram extends Family<HistogramChild> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected get kind() {
    return 'histogram';
  }
  protected create() {
    return new HistogramChild(this.buckets);
  }
  protected renderChild(out: string[], labels: LabelValues, h: HistogramChild) {
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += h.counts[i];
      const le = `le="${formatNumber(this.buckets[i])}"`;
      out.push(`${this.name}_bucket${labelText(this.labelNames, labels, le)} ${cumulative}`);
    }
    out.push(`${this.name}_bucket${labelText(this.labelNames, labels, 'le="+Inf"')} ${h.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, labels)} ${formatNumber(h.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, labels)} ${h.count}`);
  }
}

/** A set of metric families rendered together on one endpoint. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  private add<M extends Metric>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Histogram {
    return this.add(
      new Histogram(
        name,
        help,
        labelNames,
        [...buckets].sort((a, b) => a - b),
      ),
    );
  }

  /** Prometheus text exposition of every family. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return `${out.join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
