/**
 * A grpc probe as the kubelet runs it (pkg/probe/grpc): grpc.health.v1.Health/Check over a
 * plaintext connection with the probe's service name; it passes only when the answer is
 * SERVING. https://github.com/grpc/grpc/blob/master/doc/health-checking.md
 * The two messages are one field each, encoded here with protobufjs' wire writer rather
 * than from a .proto, which no installed package ships.
 */
import { credentials, Client as GrpcClient, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { GrpcProbe } from './app-probe.js';
import { hostPort, type ProbeResult } from './probe-result.js';

const CHECK = '/grpc.health.v1.Health/Check';
/** HealthCheckResponse.ServingStatus */
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const SERVING = 1;

/** HealthCheckRequest { string service = 1; } */
function encodeRequest(service: string): Buffer {
  const w = protobuf.Writer.create();
  if (service !== '') w.uint32((1 << 3) | 2).string(service);
  return Buffer.from(w.finish());
}

/** HealthCheckResponse { ServingStatus status = 1; }: the status, UNKNOWN (0) when absent. */
function decodeResponse(bytes: Buffer): number {
  const r = protobuf.Reader.create(bytes);
  let status = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) status = r.int32();
    else r.skipType(tag & 7);
  }
  return status;
}

export function probeGrpc(p: GrpcProbe, host: string, timeoutMs: number): Promise<ProbeResult> {
  // A connection of its own per probe, as the kubelet dials one: grpc-js would otherwise
  // share a subchannel between clients, and one in reconnect backoff after the app
  // restarted would fail the next probes without trying.
  const client = new GrpcClient(hostPort(host, p.port), credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const service = p.service ?? '';
  const what = `Health/Check${service ? ` ${service}` : ''}`;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      CHECK,
      encodeRequest,
      decodeResponse,
      service,
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, status?: number) => {
        client.close();
        if (err) {
          resolve({ ok: false, detail: `${what}: ${err.details || err.message}` });
          return;
        }
        const name = STATUS[status ?? 0] ?? String(status);
        resolve({ ok: status === SERVING, detail: `${what}: ${name}` });
      },
    );
  });
}
