/**
 * A small mesh as the model describes it (built here, not parsed, so these tests stand
 * on their own), and builders for the variations the targeted tests need.
 */
import type {
  Endpoint,
  MeshConfig,
  Route,
  Service,
  ServicePolicy,
  Workload,
} from '../../../src/mesh/index.js';

export const MESH_SETTINGS: MeshConfig['mesh'] = {
  trustDomain: 'cluster.local',
  domain: 'cluster.local',
  mtls: 'PERMISSIVE',
};

export function endpoint(
  address: string,
  ports: Record<number, number>,
  extra: Partial<Endpoint> = {},
): Endpoint {
  return {
    address,
    ports,
    labels: {},
    region: '',
    zone: '',
    weight: 1,
    health: 'HEALTHY',
    meshed: false,
    serviceAccount: 'default',
    source: 'mesh-file',
    ...extra,
  };
}

export function policy(extra: Partial<ServicePolicy> = {}): ServicePolicy {
  return { loadBalancer: 'round_robin', connectTimeoutMs: 5000, ...extra };
}

export function route(name: string, extra: Partial<Route> = {}): Route {
  return { name, match: [], backends: [], ...extra };
}

/** A service with defaults; `ports` as [port, protocol] pairs. */
export function service(
  name: string,
  namespace: string,
  ports: ReadonlyArray<readonly [number, Service['ports'][number]['protocol']]>,
  extra: Partial<Service> = {},
): Service {
  return {
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    ports: ports.map(([port, protocol]) => ({ port, protocol, name: `${protocol}-${port}` })),
    endpoints: [],
    policy: policy(),
    subsets: [],
    routes: [],
    ...extra,
  };
}

export function mesh(...services: Service[]): MeshConfig {
  return { mesh: MESH_SETTINGS, services };
}

export function workload(extra: Partial<Workload> = {}): Workload {
  return {
    id: 'sidecar~10.0.0.9~echo-1.default~default.svc.cluster.local',
    service: 'echo',
    namespace: 'default',
    labels: {},
    serviceAccount: 'default',
    address: '10.0.0.9',
    inboundPort: 15006,
    outboundPort: 15001,
    region: '',
    zone: '',
    health: 'HEALTHY',
    ...extra,
  };
}

const RETRIES = {
  attempts: 2,
  on: ['unavailable', 'reset'],
  retriableStatusCodes: [],
  backoffBaseMs: 25,
  backoffMaxMs: 250,
};

/** gRPC echo in `default`, split 90/10 between versions, with a header-matched canary. */
const echo = service('echo', 'default', [[50051, 'grpc']], {
  serviceAccounts: ['echo', 'echo-v1'],
  endpoints: [
    endpoint(
      '10.0.1.1',
      { 50051: 50051 },
      { labels: { version: 'v1' }, region: 'eu', zone: 'a', meshed: true, serviceAccount: 'echo' },
    ),
    endpoint(
      '10.0.1.2',
      { 50051: 50051 },
      {
        labels: { version: 'v1' },
        region: 'eu',
        zone: 'b',
        weight: 3,
        meshed: true,
        serviceAccount: 'echo-v1',
      },
    ),
    endpoint(
      '10.0.1.3',
      { 50051: 50061 },
      {
        labels: { version: 'v2' },
        region: 'eu',
        zone: 'a',
        health: 'DRAINING',
      },
    ),
  ],
  policy: policy({
    timeoutMs: 2000,
    retries: RETRIES,
    rateLimit: { requestsPerUnit: 100, unit: 'second', burst: 20 },
  }),
  subsets: [
    { name: 'v1', labels: { version: 'v1' } },
    {
      name: 'v2',
      labels: { version: 'v2' },
      healthCheck: {
        kind: { type: 'grpc', service: 'echo.Echo' },
        intervalMs: 10_000,
        timeoutMs: 1000,
        healthyThreshold: 1,
        unhealthyThreshold: 3,
      },
    },
  ],
  routes: [
    route('canary', {
      match: [
        {
          headers: [{ name: 'x-canary', match: { exact: 'true' }, invert: false }],
          queryParams: [],
        },
      ],
      backends: [{ service: 'echo', namespace: 'default', subset: 'v2', weight: 1 }],
      // Only requests that ask for it: the route is split on the fault's header.
      fault: {
        abort: { grpcStatus: 14, percentage: 5 },
        headers: [{ name: 'x-fault', match: { exact: 'on' }, invert: false }],
      },
    }),
    route('split', {
      backends: [
        { service: 'echo', namespace: 'default', subset: 'v1', weight: 90 },
        { service: 'echo', namespace: 'default', subset: 'v2', weight: 10 },
      ],
      mirror: { service: 'echo', namespace: 'default', subset: 'v2', percentage: 100 },
    }),
  ],
  authorization: [
    {
      name: 'no-admin',
      action: 'DENY',
      from: [],
      to: [{ methods: [], paths: [{ prefix: '/echo.Admin/' }], ports: [] }],
    },
    {
      name: 'web-and-tools',
      action: 'ALLOW',
      from: [
        { principals: [{ exact: 'spiffe://cluster.local/ns/default/sa/web' }], namespaces: [] },
        {
          principals: [{ prefix: 'spiffe://cluster.local/ns/tools/sa/ci-' }],
          namespaces: ['tools', 'ops'],
        },
      ],
      to: [
        {
          methods: ['POST'],
          paths: [{ exact: '/echo.Echo/Say' }, { prefix: '/grpc.health.' }],
          ports: [50051],
        },
      ],
    },
    { name: 'anyone-reflects', action: 'ALLOW', from: [], to: [] },
  ],
});

/** HTTP web in `default` with two ports, consistent hashing, breakers and rich matches. */
const web = service(
  'web',
  'default',
  [
    [8080, 'http'],
    [9090, 'http'],
  ],
  {
    addresses: ['10.96.0.10', 'fd00:96::10'],
    endpoints: [
      endpoint('10.0.2.1', { 8080: 8080, 9090: 9090 }),
      endpoint('10.0.2.2', { 8080: 8080 }),
    ],
    policy: policy({
      loadBalancer: 'ring_hash',
      hashOn: { header: 'x-user' },
      connectTimeoutMs: 1500,
      circuitBreaker: { maxConnections: 100, maxPendingRequests: 10 },
      outlierDetection: {
        consecutive5xx: 5,
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        consecutiveLocalOriginFailures: 3,
        successRate: { minimumHosts: 3, stdevFactor: 1.5 },
        failurePercentage: { threshold: 90 },
      },
      healthCheck: {
        kind: {
          type: 'http',
          path: '/healthz',
          expectedStatuses: [
            [200, 300],
            [429, 430],
          ],
        },
        intervalMs: 5000,
        timeoutMs: 500,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
      panicThreshold: 25,
    }),
    routes: [
      route('api', {
        match: [
          { path: { prefix: '/api/' }, headers: [], queryParams: [], method: 'GET' },
          {
            path: { regex: '/v[0-9]+/.*' },
            headers: [{ name: 'x-debug', invert: true }],
            queryParams: [{ name: 'q', match: { prefix: 'a' } }, { name: 'flag' }],
          },
        ],
        rewrite: { prefix: '/', authority: 'api.internal' },
        timeoutMs: 500,
        fault: { delay: { fixedDelayMs: 100, percentage: 10 }, headers: [] },
        rateLimit: { requestsPerUnit: 600, unit: 'minute', burst: 0 },
        retries: { ...RETRIES, retriableStatusCodes: [503], perTryTimeoutMs: 200 },
        mirror: { service: 'web', namespace: 'default', port: 9090, percentage: 12.5 },
      }),
      route('exact', {
        match: [{ path: { exact: '/healthz' }, headers: [], queryParams: [] }],
        backends: [{ service: 'shop', namespace: 'shop', port: 8443, weight: 1 }],
      }),
    ],
  },
);

/** TCP postgres in namespace `data`: STRICT mTLS, only its own namespace may connect. */
const db = service('db', 'data', [[5432, 'tcp']], {
  endpoints: [
    endpoint('10.0.3.1', { 5432: 5432 }, { region: 'eu', zone: 'a' }),
    endpoint('10.0.3.2', { 5432: 5432 }, { region: 'eu', zone: 'a', meshed: true }),
  ],
  policy: policy({
    loadBalancer: 'least_request',
    mtls: 'STRICT',
    healthCheck: {
      kind: { type: 'tcp' },
      intervalMs: 2500,
      timeoutMs: 1000,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    },
  }),
  authorization: [
    {
      name: 'same-namespace',
      action: 'ALLOW',
      from: [{ principals: [], namespaces: ['data'] }],
      to: [{ methods: [], paths: [], ports: [5432] }],
    },
  ],
});

/** A second echo, in namespace `other`: short names stay with default's echo. */
const otherEcho = service('echo', 'other', [[50051, 'grpc']], {
  endpoints: [endpoint('10.0.4.1', { 50051: 50051 })],
});

/**
 * HTTP/2 shop in namespace `shop`: mTLS disabled, so clients talk plaintext to its sidecar; a
 * fault on all its routes, with fractional percentages.
 */
const shop = service('shop', 'shop', [[8443, 'http2']], {
  endpoints: [endpoint('10.0.5.1', { 8443: 8443 }, { meshed: true })],
  policy: policy({
    mtls: 'DISABLE',
    fault: {
      delay: { fixedDelayMs: 1500, percentage: 0.5 },
      abort: { httpStatus: 503, percentage: 12.25 },
      headers: [],
    },
  }),
});

export const FIXTURE_MESH: MeshConfig = mesh(web, echo, db, otherEcho, shop);

/**
 * A mesh with telemetry: OTLP over gRPC to a collector outside the mesh, 10% sampling, W3C and
 * B3; access logs on mesh-wide (standard output), to a file for `api`, off for `db`.
 */
export const TELEMETRY_MESH: MeshConfig = {
  mesh: {
    ...MESH_SETTINGS,
    telemetry: {
      tracing: {
        host: 'otel-collector.observability',
        port: 4317,
        protocol: 'grpc',
        path: '/v1/traces',
        sampling: 10,
        propagation: ['w3c', 'b3'],
      },
      accessLog: { enabled: true },
    },
  },
  services: [
    service('api', 'default', [[8080, 'http']], {
      endpoints: [endpoint('10.0.6.1', { 8080: 8080 })],
      telemetry: { accessLog: { enabled: true, path: '/var/log/ferry/api.jsonl' } },
    }),
    service('db', 'data', [[5432, 'tcp']], {
      endpoints: [endpoint('10.0.3.1', { 5432: 5432 })],
      telemetry: { accessLog: { enabled: false } },
    }),
  ],
};
