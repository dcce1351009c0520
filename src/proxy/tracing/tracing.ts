/**
 * Traces with OpenTelemetry: a server span for each inbound request, a client span for each
 * outbound one with a child per attempt (retries included), OpenTelemetry's HTTP and RPC
 * semantic conventions plus the mesh's own attributes, W3C trace context and B3 (single or
 * multi header) read and written, parent-based ratio sampling, and export over OTLP
 * (HTTP/protobuf by default, gRPC as an option) through a bounded batch queue, so a
 * collector that is slow or down never slows traffic: what does not fit is dropped and
 * counted.
 *
 * The SDK is loaded only when tracing is on (start()); with tracing off the data path holds
 * `undefined` and pays one comparison per request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context, Span, TextMapGetter, TextMapSetter, Tracer } from '@opentelemetry/api';

export type Propagation = 'w3c' | 'b3' | 'b3multi';

export interface TracingOptions {
  /** OTLP endpoint: http://host:4318/v1/traces (HTTP) or http://host:4317 (gRPC). */
  readonly endpoint: string;
  readonly protocol?: 'http/protobuf' | 'grpc';
  /** Share of new traces sampled, 0..1 (a sampled parent is always followed). Default 1. */
  readonly sampling?: number;
  /** Formats read and written; the first that finds a context wins. Default w3c. */
  readonly propagation?: readonly Propagation[];
  /** service.name of the spans. */
  readonly serviceName: string;
  readonly serviceNamespace?: string;
  /** Spans waiting for export at most; beyond, new spans are dropped (and counted). */
  readonly maxQueueSize?: number;
  /** How often the queue is flushed. Default 1 s. */
  readonly scheduledDelayMs?: number;
}

/** The counts the sidecar exposes as metrics. */
export interface TracingStats {
  ended: number;
  exported: number;
  dropped: number;
}

/** A batch the collector has not taken by then is given up (and counted as dropped). */
const EXPORT_TIMEOUT_MS = 3000;

const getter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const setter: TextMapSetter<Record<string, string | string[]>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** What the data path calls; one instance per sidecar. */
export class Tracing {
  private constructor(
    readonly stats: TracingStats,
    private readonly api: typeof import('@opentelemetry/api'),
    private readonly tracer: Tracer,
    private readonly propagator: import('@opentelemetry/api').TextMapPropagator,
    private readonly shutdownFn: () => Promise<void>,
  ) {}

  /** Loads the SDK and starts the exporter. */
  static async start(options: TracingOptions): Promise<Tracing> {
    const api = await import('@opentelemetry/api');
    const sdk = await import('@opentelemetry/sdk-trace-base');
    const core = await import('@opentelemetry/core');
    const { resourceFromAttributes } = await import('@opentelemetry/resources');
    const formats = options.propagation ?? ['w3c'];
    const propagators: import('@opentelemetry/api').TextMapPropagator[] = [];
    for (const f of formats) {
      if (f === 'w3c') propagators.push(new core.W3CTraceContextPropagator());
      else {
        const b3 = await import('@opentelemetry/propagator-b3');
        propagators.push(
          new b3.B3Propagator({
            injectEncoding:
              f === 'b3' ? b3.B3InjectEncoding.SINGLE_HEADER : b3.B3InjectEncoding.MULTI_HEADER,
          }),
        );
      }
    }
    const exporter =
      options.protocol === 'grpc'
        ? new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter({
            url: options.endpoint,
            timeoutMillis: EXPORT_TIMEOUT_MS,
          })
        : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({
            url: options.endpoint,
            timeoutMillis: EXPORT_TIMEOUT_MS,
          });
    const stats: TracingStats = { ended: 0, exported: 0, dropped: 0 };
    // Count what reaches the collector; the rest of what ended was dropped (a full queue,
    // a collector that refused or was not there).
    const counting: import('@opentelemetry/sdk-trace-base').SpanExporter = {
      export: (spans, done) =>
        exporter.export(spans, (result) => {
          if (result.code === 0) stats.exported += spans.length;
          else stats.dropped += spans.length;
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
    const maxQueueSize = options.maxQueueSize ?? 2048;
    const batch = new sdk.BatchSpanProcessor(counting, {
      maxQueueSize,
      maxExportBatchSize: Math.min(512, maxQueueSize),
      scheduledDelayMillis: options.scheduledDelayMs ?? 1000,
      exportTimeoutMillis: EXPORT_TIMEOUT_MS,
    });
    let queued = 0;
    const processor: import('@opentelemetry/sdk-trace-base').SpanProcessor = {
      onStart: () => undefined,
      onEnd: (span) => {
        stats.ended++;
        // The batch processor drops silently when its queue is full: count it here.
        queued = stats.ended - stats.exported - stats.dropped;
        if (queued > maxQueueSize) stats.dropped++;
        else batch.onEnd(span);
      },
      forceFlush: () => batch.forceFlush(),
      shutdown: () => batch.shutdown(),
    };
    const provider = new sdk.BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': options.serviceName,
        ...(options.serviceNamespace ? { 'service.namespace': options.serviceNamespace } : {}),
      }),
      sampler: new sdk.ParentBasedSampler({
        root: new sdk.TraceIdRatioBasedSampler(options.sampling ?? 1),
      }),
      spanProcessors: [processor],
    });
    return new Tracing(
      stats,
      api,
      provider.getTracer('ferry-proxy'),
      propagators.length === 1 ? propagators[0] : new core.CompositePropagator({ propagators }),
      async () => {
        // A collector that is down must not hold up a shutdown: give it a second at most.
        const gone = new Promise<void>((r) => setTimeout(r, 1000).unref());
        await Promise.race([provider.shutdown().catch(() => undefined), gone]);
      },
    );
  }

  /** The span of a request arriving (inbound: SERVER) or leaving (outbound: CLIENT). */
  startRequest(
    inbound: boolean,
    headers: IncomingHttpHeaders,
    method: string,
    authority: string,
    path: string,
    grpc: boolean,
  ): Span {
    const parent = this.propagator.extract(this.api.ROOT_CONTEXT, headers, getter);
    const kind = inbound ? this.api.SpanKind.SERVER : this.api.SpanKind.CLIENT;
    const span = this.tracer.startSpan(
      grpc ? path.slice(1) : `${method} ${inbound ? 'inbound' : authority}`,
      {
        kind,
        attributes: {
          'http.request.method': method,
          'url.path': path,
          'server.address': authority,
          ...(grpc ? { 'rpc.system': 'grpc', 'rpc.method': path.slice(1) } : {}),
        },
      },
      parent,
    );
    return span;
  }

  /** A child span for one attempt, whose context goes upstream in `outHeaders`. */
  startAttempt(
    parent: Span,
    attempt: number,
    cluster: string,
    host: string,
    outHeaders: Record<string, string | string[]>,
  ): Span {
    const ctx: Context = this.api.trace.setSpan(this.api.ROOT_CONTEXT, parent);
    const span = this.tracer.startSpan(
      `attempt ${attempt}`,
      {
        kind: this.api.SpanKind.CLIENT,
        attributes: {
          'ferry.upstream_cluster': cluster,
          'ferry.upstream_host': host,
          'ferry.attempt': attempt,
        },
      },
      ctx,
    );
    this.propagator.inject(this.api.trace.setSpan(ctx, span), outHeaders, setter);
    return span;
  }

  /**
   * Puts `span`'s context in headers going upstream (a tunnel's request head, which has no
   * attempts of its own), so the upstream's spans are its children.
   */
  inject(span: Span, outHeaders: Record<string, string | string[]>): void {
    this.propagator.inject(this.api.trace.setSpan(this.api.ROOT_CONTEXT, span), outHeaders, setter);
  }

  /** Ends a span with the response's status. */
  end(
    span: Span,
    status: number,
    grpcStatus: string,
    flags: string,
    extra?: Record<string, string | number>,
  ): void {
    if (status > 0) span.setAttribute('http.response.status_code', status);
    if (grpcStatus) span.setAttribute('rpc.grpc.status_code', Number(grpcStatus));
    if (flags) span.setAttribute('ferry.response_flags', flags);
    if (extra) span.setAttributes(extra);
    const failed = status >= 500 || status === 0 || (grpcStatus !== '' && grpcStatus !== '0');
    if (failed) span.setStatus({ code: this.api.SpanStatusCode.ERROR });
    span.end();
  }

  /** Exports what is queued and stops. */
  shutdown(): Promise<void> {
    return this.shutdownFn();
  }
}
