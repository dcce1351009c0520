/**
 * The mesh the xDS and mesh-file fuzzers start from: one HTTP service `fuzz` in front of
 * the test's app, with most of what a mesh file can say (subsets, routes matching headers,
 * paths and regexes, retries, timeouts, circuit breakers, outlier detection, fault
 * injection, mirroring, authorization), and a gRPC service beside it. Every route of `fuzz`
 * ends at the app, so a canary is answered whatever route it takes.
 */
import { type MeshConfig, parseMesh } from '../../src/mesh/index.js';

export function fuzzMeshYaml(appPort: number): string {
  return `mesh:
  trustDomain: cluster.local
  domain: cluster.local
  mtls: PERMISSIVE
services:
  - name: fuzz
    namespace: default
    ports:
      - { port: 8080, protocol: http, name: http }
    endpoints:
      - { address: 127.0.0.1, port: ${appPort}, labels: { version: v1 }, zone: a }
    subsets:
      - { name: v1, labels: { version: v1 } }
    policy:
      loadBalancer: round_robin
      timeout: 3s
      connectTimeout: 1s
      retries:
        attempts: 2
        perTryTimeout: 1s
        on: [5xx, connect-failure, reset]
        backoff: { base: 25ms, max: 250ms }
      circuitBreaker:
        maxConnections: 1000
        maxPendingRequests: 1000
        maxRequests: 1000
        maxRetries: 10
      outlierDetection:
        consecutive5xx: 1000
        interval: 10s
        baseEjectionTime: 30s
        maxEjectionPercent: 50
    routes:
      - name: pinned
        match:
          - headers: { x-pin: { exact: "v1" } }
        backends:
          - { subset: v1 }
        fault:
          delay: { fixed: 10ms, percentage: 50 }
          abort: { httpStatus: 503, percentage: 5 }
          headers: { x-fault: { exact: "on" } }
      - name: regex
        match:
          - path: { regex: "/re/[a-z]+/[0-9]{1,4}" }
        backends:
          - { subset: v1, weight: 100 }
        timeout: 2s
        mirror: { subset: v1, percentage: 1 }
    authorization:
      - name: deny-admin
        action: DENY
        to:
          - paths: [/admin, /admin/*]
  - name: other
    namespace: default
    ports:
      - { port: 50051, protocol: grpc }
    endpoints:
      - { address: 127.0.0.1, port: 50061 }
    policy:
      # ring_hash: an endpoint weight of 2^32-1 once made the sidecar build an 8M-entry ring,
      # blocking it ~13 s (found by this fuzzer; see README, Fuzzing); now sized by shares.
      loadBalancer: ring_hash
`;
}

export function fuzzMesh(appPort: number): MeshConfig {
  const r = parseMesh(fuzzMeshYaml(appPort), 'fuzz-mesh.yaml');
  if (!r.ok) throw new Error(`the fuzz mesh is invalid: ${JSON.stringify(r.errors)}`);
  return r.config;
}
