/**
 * A plain HTTP/1.1 client for data-path tests (node's http, keep-alive through the agent
 * given) and small helpers to run many requests and count what came back.
 */
import http from 'node:http';

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
  /** x-ferry-response-flags, or '' when the response has none. */
  readonly flags: string;
}

export interface SendOptions {
  /** The Host header: how the sidecar picks the service. */
  readonly host?: string;
  /** Origin form (`/x`) or absolute form (`http://api:8080/x`). */
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly agent?: http.Agent;
}

/** One request to 127.0.0.1:port; rejects on a connection error (its `code` kept). */
export function send(port: number, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.host !== undefined) headers.host = options.host;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers,
        agent: options.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
            flags: String(res.headers['x-ferry-response-flags'] ?? ''),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Runs `total` calls of `fn`, at most `concurrency` at a time; results in call order. */
export async function inParallel<T>(
  total: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const out = new Array<T>(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return out;
}

/** How many times each value occurs, keys sorted. */
export function tally(values: readonly string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const v of [...values].sort()) m[v] = (m[v] ?? 0) + 1;
  return m;
}

/** GET a JSON page (admin endpoints). */
export async function getJson<T>(port: number, path: string): Promise<T> {
  const r = await send(port, { path, host: '127.0.0.1' });
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}
