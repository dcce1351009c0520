/**
 * A demo service: a small node:http server that knows nothing of the mesh except its
 * sidecar's outbound port. `catalog` and `reviews` answer on their own; `frontend` calls
 * both through its sidecar (`Host: catalog:8080`, as a meshed app does) and combines what
 * they said, including which version of reviews answered.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoAppOptions {
  /** frontend, catalog or reviews. Any other name answers like catalog does. */
  readonly name: string;
  readonly version: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  /** The sidecar's outbound listener; may also be set later with `setOutbound`. */
  readonly outbound?: URL;
  /** Timeout of one call through the sidecar; the sidecar's route timeouts are shorter. */
  readonly callTimeoutMs?: number;
}

export interface DemoApp {
  readonly port: number;
  /** Where calls to other services go: the sidecar's outbound listener. */
  setOutbound(outbound: URL): void;
  close(): Promise<void>;
}

/** The port every demo service is declared on in examples/demo/mesh.yaml. */
export const DEMO_SERVICE_PORT = 8080;

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** The header that pins a request to the reviews canary; frontend passes it on. */
const CANARY_HEADER = 'x-canary';

const CATALOG = [
  { id: 1, name: 'Deck chair' },
  { id: 2, name: 'Life jacket' },
  { id: 3, name: 'Ship in a bottle' },
];

export async function startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const timeoutMs = options.callTimeoutMs ?? 5000;
  let outbound = options.outbound;

  /** One call through the sidecar. Never rejects: a failure is a reply too. */
  const call = (service: string, path: string, headers: http.OutgoingHttpHeaders) =>
    new Promise<Reply>((resolve) => {
      if (!outbound) {
        resolve({ status: 503, body: { error: 'no sidecar outbound port yet' } });
        return;
      }
      const req = http.get(
        {
          host: outbound.hostname,
          port: outbound.port,
          path,
          agent,
          timeout: timeoutMs,
          headers: { ...headers, host: `${service}:${DEMO_SERVICE_PORT}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => resolve({ status: 502, body: { error: err.message } }));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 502, body: parseBody(text) });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${service} did not answer in time`)));
      req.on('error', (err) => resolve({ status: 502, body: { error: err.message } }));
    });

  const frontend = async (req: http.IncomingMessage): Promise<Reply> => {
    const canary = req.headers[CANARY_HEADER];
    const headers = canary === undefined ? {} : { [CANARY_HEADER]: canary };
    const [catalog, reviews] = await Promise.all([
      call('catalog', '/items', {}),
      call('reviews', '/reviews', headers),
    ]);
    const ok = catalog.status === 200 && reviews.status === 200;
    return {
      status: ok ? 200 : 502,
      body: {
        service: 'frontend',
        version: options.version,
        reviewsVersion: versionOf(reviews.body),
        catalog:
          catalog.status === 200
            ? catalog.body
            : { status: catalog.status, ...object(catalog.body) },
        reviews:
          reviews.status === 200
            ? reviews.body
            : { status: reviews.status, ...object(reviews.body) },
      },
    };
  };

  const reviews = (): Reply => ({
    status: 200,
    body: {
      service: 'reviews',
      version: options.version,
      // As in Istio's bookinfo: v1 has no ratings, later versions show stars.
      reviews: [
        {
          by: 'a passenger',
          text: 'Smooth crossing.',
          ...(options.version === 'v1' ? {} : { stars: 4 }),
        },
        {
          by: 'a deckhand',
          text: 'Mind the gap.',
          ...(options.version === 'v1' ? {} : { stars: 5 }),
        },
      ],
    },
  });

  const catalog = (): Reply => ({
    status: 200,
    body: { service: options.name, version: options.version, items: CATALOG },
  });

  const route = async (req: http.IncomingMessage): Promise<Reply> => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    if (path === '/healthz') return { status: 200, body: { ok: true } };
    if (options.name === 'frontend') return path === '/' ? frontend(req) : notFound(path);
    if (options.name === 'reviews') return path === '/reviews' ? reviews() : notFound(path);
    return path === '/items' || path === '/' ? catalog() : notFound(path);
  };

  const server = http.createServer((req, res) => {
    req.resume();
    route(req).then((reply) => {
      const body = `${JSON.stringify(reply.body)}\n`;
      res.writeHead(reply.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    port: (server.address() as AddressInfo).port,
    setOutbound(url) {
      outbound = url;
    },
    close() {
      agent.destroy();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Its sidecar is stopped first, so a connection still open now is one left behind.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
    },
  };
}

function notFound(path: string): Reply {
  return { status: 404, body: { error: `no such path ${path}` } };
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: text.trim().slice(0, 200) };
  }
}

function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** The version a service put in its JSON answer, or undefined. */
export function versionOf(body: unknown): string | undefined {
  const v = object(body).version;
  return typeof v === 'string' ? v : undefined;
}
