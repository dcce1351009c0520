/**
 * A real OTLP trace receiver for tests: an HTTP server that accepts protobuf
 * ExportTraceServiceRequests on /v1/traces, or a gRPC server with the TraceService's Export
 * method (startGrpc), as a collector does, and keeps the spans.
 * The message shapes are those of opentelemetry-proto's trace.proto (the fields read here).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        ExportTraceServiceRequest: {
          fields: { resource_spans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } },
        },
        ResourceSpans: {
          fields: {
            resource: { type: 'Resource', id: 1 },
            scope_spans: { rule: 'repeated', type: 'ScopeSpans', id: 2 },
          },
        },
        Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
        ScopeSpans: { fields: { spans: { rule: 'repeated', type: 'Span', id: 2 } } },
        Span: {
          fields: {
            trace_id: { type: 'bytes', id: 1 },
            span_id: { type: 'bytes', id: 2 },
            parent_span_id: { type: 'bytes', id: 4 },
            name: { type: 'string', id: 5 },
            kind: { type: 'int32', id: 6 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
            status: { type: 'Status', id: 15 },
          },
        },
        KeyValue: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } },
        },
        AnyValue: {
          fields: {
            string_value: { type: 'string', id: 1 },
            bool_value: { type: 'bool', id: 2 },
            int_value: { type: 'int64', id: 3 },
            double_value: { type: 'double', id: 4 },
          },
        },
        Status: { fields: { message: { type: 'string', id: 2 }, code: { type: 'int32', id: 3 } } },
      },
    },
  },
});
const Request = root.lookupType('otlp.ExportTraceServiceRequest');

export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** 2 SERVER, 3 CLIENT. */
  readonly kind: number;
  readonly attributes: Record<string, string | number | boolean>;
  readonly statusCode: number;
}

/** opentelemetry-proto's collector/trace/v1/trace_service.proto. */
const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private constructor(
    private readonly port: () => number,
    private readonly stop: () => Promise<void>,
    private readonly protocol: 'http' | 'grpc',
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const server = http.createServer();
    const receiver = new OtlpReceiver(
      () => (server.address() as AddressInfo).port,
      () => new Promise((r) => server.close(() => r())),
      'http',
    );
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        if (req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
          res.writeHead(400).end();
          return;
        }
        receiver.take(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return receiver;
  }

  /** OTLP over gRPC: the TraceService on a free port (an ExportTraceServiceResponse is empty). */
  static async startGrpc(): Promise<OtlpReceiver> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const receiver = new OtlpReceiver(
      () => port,
      () => new Promise((r) => server.tryShutdown(() => r())),
      'grpc',
    );
    const bytes = (b: Buffer) => b;
    server.addService(
      {
        Export: {
          path: EXPORT_PATH,
          requestStream: false,
          responseStream: false,
          requestSerialize: bytes,
          requestDeserialize: bytes,
          responseSerialize: () => Buffer.alloc(0),
          responseDeserialize: bytes,
        },
      },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, object>, done: grpc.sendUnaryData<object>) => {
          receiver.take(call.request);
          done(null, {});
        },
      },
    );
    return receiver;
  }

  /** Where an exporter sends: the /v1/traces URL, or for gRPC http://host:port. */
  get url(): string {
    const base = `http://127.0.0.1:${this.port()}`;
    return this.protocol === 'grpc' ? base : `${base}/v1/traces`;
  }

  private take(body: Buffer): void {
    const msg = Request.toObject(Request.decode(body), { longs: Number, bytes: String }) as {
      resource_spans?: Array<{
        resource?: { attributes?: Array<{ key: string; value?: Record<string, unknown> }> };
        scope_spans?: Array<{ spans?: Array<Record<string, unknown>> }>;
      }>;
    };
    const hex = (b64: unknown) => Buffer.from(String(b64 ?? ''), 'base64').toString('hex');
    const attrs = (list: Array<{ key: string; value?: Record<string, unknown> }> | undefined) =>
      Object.fromEntries(
        (list ?? []).map((kv) => [
          kv.key,
          Object.values(kv.value ?? {})[0] as string | number | boolean,
        ]),
      );
    for (const rs of msg.resource_spans ?? []) {
      const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scope_spans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: hex(s.trace_id),
            spanId: hex(s.span_id),
            parentSpanId: hex(s.parent_span_id),
            name: String(s.name ?? ''),
            kind: Number(s.kind ?? 0),
            attributes: attrs(
              s.attributes as Array<{ key: string; value?: Record<string, unknown> }>,
            ),
            statusCode: Number((s.status as { code?: number } | undefined)?.code ?? 0),
          });
        }
      }
    }
  }

  close(): Promise<void> {
    return this.stop();
  }
}
