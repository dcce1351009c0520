/**
 * Traces and access logs as the configuration in force says, switched live: each listener's
 * spec (from its xDS config) is resolved against the sidecar's flags, which decide whatever
 * the configuration leaves unsaid; the tracers and logs it needs are started, and the result
 * is handed to the listeners' route views whole.
 *
 * A new tracer loads the SDK and its exporter asynchronously: until it is ready the previous
 * one (or none) stays in force, so a change never holds up or drops a request. A tracer no
 * listener uses any more is shut down (its queue flushed); requests still under way with it
 * end their spans harmlessly. Access logs are kept open once made (one per file and
 * direction), since a request under way may still write to one.
 */
import type { Logger } from '../../log/index.js';
import { type AccessLog, createAccessLog, type ExchangeTelemetry } from '../http/index.js';
import { ACCESS_LOG_OFF, type ListenerTelemetrySpec } from '../runtime/index.js';
import { Tracing, type TracingOptions, type TracingStats } from '../tracing/index.js';

export type Direction = 'outbound' | 'inbound';

export interface TelemetryDefaults {
  /** From the sidecar's flags: tracing when its configuration says nothing. */
  readonly tracing?: Omit<TracingOptions, 'serviceName' | 'serviceNamespace'>;
  /** From the sidecar's flags: the access log when its configuration says nothing. */
  readonly accessLog?: string;
  readonly service: string;
  readonly namespace: string;
}

const NONE: ExchangeTelemetry = Object.freeze({});

export class LiveTelemetry {
  private readonly tracers = new Map<string, Tracing>();
  private readonly starting = new Map<string, Promise<Tracing | undefined>>();
  private readonly logs = new Map<string, AccessLog>();
  /** The tracer key each listener wants; the tracer it has may lag while one starts. */
  private readonly wanted: Record<Direction, string | undefined> = {
    outbound: undefined,
    inbound: undefined,
  };
  private readonly current: Record<Direction, ExchangeTelemetry> = {
    outbound: NONE,
    inbound: NONE,
  };
  /** Spans of tracers already shut down, and tracers shutting down. */
  private readonly retired: TracingStats = { ended: 0, exported: 0, dropped: 0 };
  private readonly retiring = new Set<Tracing>();
  private readonly shutdowns = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly defaults: TelemetryDefaults,
    private readonly log: Logger,
    /** Called after the telemetry of a listener changed, to rebuild its route view. */
    private readonly changed: () => void,
  ) {}

  /** Starts the flags' telemetry, so it is in force from the first request. */
  async start(): Promise<void> {
    const key = this.defaultTracingKey();
    if (key !== undefined) await this.tracer(key);
    this.apply({ outbound: {}, inbound: {} });
  }

  /** The telemetry a listener runs with now. */
  of(direction: Direction): ExchangeTelemetry {
    return this.current[direction];
  }

  /** Span counts over every tracer this sidecar has had. */
  get spanStats(): TracingStats {
    const total = { ...this.retired };
    for (const t of [...this.tracers.values(), ...this.retiring]) {
      total.ended += t.stats.ended;
      total.exported += t.stats.exported;
      total.dropped += t.stats.dropped;
    }
    return total;
  }

  /**
   * Applies the listeners' specs; tracers still starting are swapped in when ready, which
   * the promise tells (a tracer that fails to start is logged, and the promise resolves).
   */
  apply(specs: Readonly<Record<Direction, ListenerTelemetrySpec>>): Promise<void> {
    if (this.closed) return Promise.resolve();
    const starting: Promise<void>[] = [];
    for (const direction of ['outbound', 'inbound'] as const) {
      const spec = specs[direction];
      const key = this.tracingKey(spec);
      this.wanted[direction] = key;
      const accessLog = this.accessLog(direction, spec.accessLog);
      if (key === undefined) {
        this.set(direction, undefined, accessLog);
        continue;
      }
      const tracer = this.tracers.get(key);
      // Until the wanted tracer is ready, the one in force stays.
      this.set(direction, tracer ?? this.current[direction].tracing, accessLog);
      if (!tracer) starting.push(this.startWanted(key));
    }
    this.retireUnused();
    return Promise.all(starting).then(() => undefined);
  }

  /** Shuts every tracer down (exporting what is queued) and flushes the logs. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.starting.values()]);
    const all = [...this.tracers.values()];
    this.tracers.clear();
    for (const t of all) void this.shutdown(t);
    await Promise.all([...this.shutdowns]);
    for (const l of this.logs.values()) l.flush();
  }

  private set(
    direction: Direction,
    tracing: Tracing | undefined,
    accessLog: AccessLog | undefined,
  ) {
    const now = this.current[direction];
    if (now.tracing === tracing && now.accessLog === accessLog) return;
    this.current[direction] =
      tracing === undefined && accessLog === undefined
        ? NONE
        : Object.freeze({
            ...(tracing ? { tracing } : {}),
            ...(accessLog ? { accessLog } : {}),
          });
  }

  private startWanted(key: string): Promise<void> {
    return this.tracer(key).then((tracer) => {
      if (!tracer || this.closed) return;
      let swapped = false;
      for (const direction of ['outbound', 'inbound'] as const) {
        if (this.wanted[direction] !== key || this.current[direction].tracing === tracer) continue;
        this.set(direction, tracer, this.current[direction].accessLog);
        swapped = true;
      }
      this.retireUnused();
      if (swapped) {
        this.log.info({ tracing: JSON.parse(key) }, 'tracing configuration applied');
        this.changed();
      }
    });
  }

  /** The tracer of a key, started once; undefined when it cannot start (logged). */
  private tracer(key: string): Promise<Tracing | undefined> {
    const running = this.tracers.get(key);
    if (running) return Promise.resolve(running);
    let pending = this.starting.get(key);
    if (!pending) {
      const options = JSON.parse(key) as TracingOptions;
      pending = Tracing.start(options).then(
        (t) => {
          this.starting.delete(key);
          this.tracers.set(key, t);
          return t;
        },
        (err: Error) => {
          this.starting.delete(key);
          this.log.error(
            { err: err.message, endpoint: options.endpoint },
            'tracing could not start; the previous tracing stays in force',
          );
          return undefined;
        },
      );
      this.starting.set(key, pending);
    }
    return pending;
  }

  /** The tracer options a listener's spec asks for, as a key; undefined: no tracing. */
  private tracingKey(spec: ListenerTelemetrySpec): string | undefined {
    const t = spec.tracing;
    if (!t) return this.defaultTracingKey();
    const options: TracingOptions = {
      // Queue sizes and flush delays are the sidecar's own.
      ...this.defaults.tracing,
      endpoint: t.endpoint,
      protocol: t.protocol,
      sampling: t.sampling,
      propagation: t.propagation,
      serviceName: t.serviceName ?? this.defaults.service,
      serviceNamespace: this.defaults.namespace,
    };
    return JSON.stringify(options);
  }

  private defaultTracingKey(): string | undefined {
    const flags = this.defaults.tracing;
    if (!flags) return undefined;
    return JSON.stringify({
      ...flags,
      serviceName: this.defaults.service,
      serviceNamespace: this.defaults.namespace,
    } satisfies TracingOptions);
  }

  private accessLog(direction: Direction, target: string | undefined): AccessLog | undefined {
    const path = target ?? this.defaults.accessLog;
    if (path === undefined || path === ACCESS_LOG_OFF) return undefined;
    const key = `${direction} ${path}`;
    let log = this.logs.get(key);
    if (!log) {
      log = createAccessLog(path, direction);
      this.logs.set(key, log);
    }
    return log;
  }

  private retireUnused(): void {
    for (const [key, tracer] of this.tracers) {
      const used =
        this.wanted.outbound === key ||
        this.wanted.inbound === key ||
        this.current.outbound.tracing === tracer ||
        this.current.inbound.tracing === tracer;
      if (used) continue;
      this.tracers.delete(key);
      void this.shutdown(tracer);
    }
  }

  /**
   * Shuts a tracer down (its queue exported, for a second at most); what it had not exported
   * by then never will be, and counts as dropped.
   */
  private shutdown(tracer: Tracing): Promise<void> {
    this.retiring.add(tracer);
    const done = tracer
      .shutdown()
      .catch(() => undefined)
      .then(() => {
        this.retiring.delete(tracer);
        this.shutdowns.delete(done);
        const s = tracer.stats;
        this.retired.ended += s.ended;
        this.retired.exported += s.exported;
        this.retired.dropped += s.ended - s.exported;
      });
    this.shutdowns.add(done);
    return done;
  }
}
