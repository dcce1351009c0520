/**
 * A real HTTP/1.1 upstream for data-path tests: it records every request it sees (in
 * arrival order, with the request id and x-envoy-attempt-count it carried) and answers with
 * its own name unless a behaviour answers instead. It counts responses cut short by the
 * peer, so a test can see that the proxy let go of an upstream request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  /** 1-based arrival number at this upstream. */
  readonly n: number;
  /** The client's x-request-id, or '' when it sent none. */
  readonly id: string;
  /** x-envoy-attempt-count as received, or '' when absent. */
  readonly attempt: string;
  readonly method: string;
  readonly url: string;
  readonly host: string;
}

/**
 * Answers a request itself and returns true, or returns false to let the upstream answer
 * 200 with its name.
 */
export type Behaviour = (
  seen: SeenRequest,
  req: http.IncomingMessage,
  res: http.ServerResponse,
) => boolean;

export interface HttpUpstream {
  readonly name: string;
  readonly port: number;
  readonly seen: SeenRequest[];
  /** Requests whose response has not ended yet. */
  readonly inFlight: number;
  /** Responses the peer closed before they ended. */
  readonly aborted: number;
  /** Closes the port and every connection. */
  close(): Promise<void>;
}

export async function startHttpUpstream(
  name: string,
  behaviour?: Behaviour,
): Promise<HttpUpstream> {
  const seen: SeenRequest[] = [];
  let inFlight = 0;
  let aborted = 0;
  const server = http.createServer((req, res) => {
    const s: SeenRequest = {
      n: seen.length + 1,
      id: String(req.headers['x-request-id'] ?? ''),
      attempt: String(req.headers['x-envoy-attempt-count'] ?? ''),
      method: req.method ?? '',
      url: req.url ?? '',
      host: String(req.headers.host ?? ''),
    };
    seen.push(s);
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (!res.writableFinished) aborted++;
    });
    req.resume();
    if (behaviour?.(s, req, res)) return;
    res.setHeader('content-type', 'text/plain');
    res.end(name);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    seen,
    get inFlight() {
      return inFlight;
    },
    get aborted() {
      return aborted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
