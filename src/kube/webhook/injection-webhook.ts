/**
 * The injection webhook's HTTPS server (port 15017, path /inject), which the control plane
 * starts in cluster. The API server POSTs an AdmissionReview and expects one back.
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log/index.js';
import type { InjectionTemplate, StringMap } from '../inject/index.js';
import { AdmissionError } from './admission-error.js';
import { admissionResponse } from './admission-review.js';

export const WEBHOOK_PORT = 15017;
export const WEBHOOK_PATH = '/inject';
/** The API server's own limit on an object is about 3 MiB; anything far past it is not ours. */
const MAX_BODY = 8 * 1024 * 1024;

export interface InjectionWebhookOptions {
  /** PEM private key and certificate (chain) the API server is told to trust. */
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  readonly template: InjectionTemplate;
  /** Default 15017; 0 picks a free port. */
  readonly port?: number;
  /** Default 0.0.0.0: the API server reaches it through a Service. */
  readonly host?: string;
  readonly path?: string;
  /**
   * The labels of a namespace, when the control plane watches namespaces; absent means the
   * webhook configuration's namespaceSelector already did the namespace test.
   */
  readonly namespaceLabels?: (namespace: string) => Promise<StringMap | undefined>;
  /** Told of each review's outcome (for a count), besides the log line. */
  readonly onReview?: (outcome: ReviewOutcome) => void;
  readonly log: Logger;
}

/** injected: a patch sent; skipped: allowed untouched; refused: not allowed; malformed: 400. */
export type ReviewOutcome = 'injected' | 'skipped' | 'refused' | 'malformed';

export interface InjectionWebhook {
  readonly port: number;
  /** Swaps the serving certificate (rotation) without a restart. */
  setCertificate(key: string | Buffer, cert: string | Buffer): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? `${body}\n` : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function createInjectionWebhook(
  o: InjectionWebhookOptions,
): Promise<InjectionWebhook> {
  const path = o.path ?? WEBHOOK_PATH;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (url.pathname !== path) return send(res, 404, `not found: use POST ${path}`);
    if (req.method !== 'POST') return send(res, 405, `method ${req.method} not allowed: use POST`);
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, `request body over ${MAX_BODY} bytes`);
    let review: unknown;
    try {
      review = JSON.parse(body.toString('utf8'));
    } catch (err) {
      o.onReview?.('malformed');
      return send(
        res,
        400,
        `malformed AdmissionReview: the body is not JSON (${(err as Error).message})`,
      );
    }
    try {
      const ns = (review as { request?: { namespace?: unknown } } | null)?.request?.namespace;
      const namespaceLabels =
        o.namespaceLabels && typeof ns === 'string' ? await o.namespaceLabels(ns) : undefined;
      const result = admissionResponse(review, { template: o.template, namespaceLabels });
      const r = result.review.response;
      o.log.info(
        { uid: r.uid, allowed: r.allowed, patched: r.patch !== undefined, reason: result.reason },
        'admission review',
      );
      o.onReview?.(!r.allowed ? 'refused' : r.patch !== undefined ? 'injected' : 'skipped');
      send(res, 200, result.review);
    } catch (err) {
      if (err instanceof AdmissionError) {
        o.log.warn({ err: err.message }, 'malformed admission review');
        o.onReview?.('malformed');
        return send(res, 400, err.message);
      }
      throw err;
    }
  };
  const server = https.createServer({ key: o.key, cert: o.cert }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log.error({ err }, 'admission webhook failed');
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? WEBHOOK_PORT, o.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setCertificate(key, cert) {
      server.setSecureContext({ key, cert });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
