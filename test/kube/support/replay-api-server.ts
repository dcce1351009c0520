/**
 * A Kubernetes API server stand-in that replays recorded responses over real HTTPS on
 * 127.0.0.1: list responses (JSON), watch streams (chunked, one event per line, as the API
 * server sends them, optionally held back until the test releases them), error statuses,
 * and handlers for any method and path (fake-objects.ts keeps objects with them). It records
 * every request so tests can check what the client asked for (resourceVersion, watch=true,
 * the bearer token).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const TEST_TOKEN = 'recorded-api-server-test-token';

/** One response: a status with a JSON body, or a watch stream of event lines. */
export interface Step {
  readonly status?: number;
  readonly body?: unknown;
  /** Watch events, each one JSON line. */
  readonly lines?: readonly string[];
  /** The stream's events (or the response) are sent once this resolves. */
  readonly gate?: Promise<void>;
  /** End the stream after the events (the API server closing the watch); else it stays open. */
  readonly end?: boolean;
  /** Send every event in one write (a burst), rather than one write per event. */
  readonly burst?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly body: string;
}

/** Answers one request; may wait (a test holding requests back until several arrived). */
export type Handler = (request: RecordedRequest) => Step | Promise<Step>;

/** The Status object the API server answers errors with. */
export function status(code: number, reason: string, message: string): Step {
  return {
    status: code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    },
  };
}

/** A gate the test opens when it wants a watch stream's events to flow. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function servingCertificate(): Promise<{ key: string; cert: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a',
    name: 'CN=kube-apiserver',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }], false),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return {
    key: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
    cert: cert.toString('pem'),
  };
}

export class ReplayApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly lists = new Map<string, Step[]>();
  private readonly watches = new Map<string, Step[]>();
  private readonly posts = new Map<string, (body: unknown) => Step>();
  private readonly routes = new Map<string, Handler>();
  private readonly open = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly caPem: string,
  ) {}

  static async start(): Promise<ReplayApiServer> {
    const { key, cert } = await servingCertificate();
    let self: ReplayApiServer | undefined;
    const server = createServer({ key, cert }, (req, res) => {
      self?.handle(req, res);
    });
    self = new ReplayApiServer(server, cert);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Responses to successive list requests of `path`; the last one repeats. */
  list(path: string, ...steps: Step[]): this {
    this.lists.set(path, steps);
    return this;
  }

  /**
   * Responses to successive watch requests of `path`; after the last (and for a path with
   * none), watches stay open and silent, as a quiet cluster's do.
   */
  watch(path: string, ...steps: Step[]): this {
    this.watches.set(path, steps);
    return this;
  }

  post(path: string, handler: (body: unknown) => Step): this {
    this.posts.set(path, handler);
    return this;
  }

  /** Answers `method` requests of `path` (exactly); checked before lists, watches and posts. */
  route(method: string, path: string, handler: Handler): this {
    this.routes.set(`${method} ${path}`, handler);
    return this;
  }

  requestsTo(path: string, kind: 'list' | 'watch' | 'post'): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.path === path &&
        (kind === 'post'
          ? r.method === 'POST'
          : r.method === 'GET' && (r.query.get('watch') === 'true') === (kind === 'watch')),
    );
  }

  /** A KubeConfig for this server: its CA trusted, the test token as the bearer token. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: 'replay', server: this.url, caData: Buffer.from(this.caPem).toString('base64') },
      ],
      users: [{ name: 'ferry', token: TEST_TOKEN }],
      contexts: [{ name: 'replay', cluster: 'replay', user: 'ferry' }],
      currentContext: 'replay',
    });
    return kc;
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Only the path and query matter; `this.url` would throw for a request that ends
      // after close() (the server has no address any more), as a busy machine makes happen.
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      this.requests.push(recorded);
      void this.respond(recorded, res);
    });
  }

  private async respond(req: RecordedRequest, res: ServerResponse): Promise<void> {
    if (req.authorization !== `Bearer ${TEST_TOKEN}`) {
      return this.send(res, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const route = this.routes.get(`${req.method} ${req.path}`);
    if (route) {
      let step: Step;
      try {
        step = await route(req);
      } catch (err) {
        step = status(500, 'InternalError', `test handler failed: ${(err as Error).message}`);
      }
      return this.send(res, step);
    }
    if (req.method === 'POST') {
      const handler = this.posts.get(req.path);
      if (!handler) return this.send(res, status(404, 'NotFound', `no handler for ${req.path}`));
      return this.send(res, handler(JSON.parse(req.body)));
    }
    const isWatch = req.query.get('watch') === 'true';
    const queue = (isWatch ? this.watches : this.lists).get(req.path) ?? (isWatch ? [] : undefined);
    if (!queue) return this.send(res, status(404, 'NotFound', `nothing recorded for ${req.path}`));
    const step = isWatch ? queue.shift() : queue.length > 1 ? queue.shift() : queue[0];
    if (!step) {
      // Past the recording: a watch that stays open with nothing to say.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.track(res);
      return;
    }
    if (!step.lines) {
      await step.gate;
      return this.send(res, step);
    }
    res.writeHead(step.status ?? 200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    res.flushHeaders();
    this.track(res);
    await step.gate;
    // One chunk per event, as the API server flushes each event as it happens.
    if (step.burst) res.write(step.lines.map((l) => `${l}\n`).join(''));
    else for (const line of step.lines) res.write(`${line}\n`);
    if (step.end) {
      res.end();
      this.open.delete(res);
    }
  }

  /** Watch streams still open (the client has not gone away). */
  get openWatches(): number {
    return this.open.size;
  }

  private track(res: ServerResponse): void {
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
  }

  private send(res: ServerResponse, step: Step): void {
    res.writeHead(step.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(step.body ?? {}));
  }
}

/** The lines of a recorded watch stream (a .jsonl fixture). */
export function watchLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
