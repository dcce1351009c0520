/**
 * The failure table: every kind has its own stable code, a status and flag a client can be
 * answered with, and a gRPC status that agrees with the gRPC spec's HTTP mapping; the local
 * replies built from it carry what the table says.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FerryError } from '../../../src/errors/index.js';
import {
  countFlags,
  FAILURE,
  FailureError,
  FLAG,
  failureOf,
  GRPC,
  grpcStatusForHttp,
  grpcStatusOf,
  rawReply,
} from '../../../src/proxy/failure/index.js';
import { ProxyStats } from '../../../src/proxy/http/index.js';

describe('failure table', () => {
  const kinds = Object.entries(FAILURE);

  it('gives each failure kind a code of its own', () => {
    const codes = kinds.map(([, f]) => f.code);
    assert.equal(new Set(codes).size, codes.length, codes.join(', '));
    for (const code of codes) assert.match(code, /^FERRY_[A-Z0-9_]+$/);
  });

  it("answers each with a flag of Envoy's and a status from the gRPC spec's mapping", () => {
    const flags = new Set<string>(Object.values(FLAG));
    for (const [kind, f] of kinds) {
      assert.ok(f.flag === '' || flags.has(f.flag), `${kind}: flag ${f.flag}`);
      if (f.httpStatus === 0) continue; // nothing is answered (the client is gone)
      assert.ok(f.httpStatus >= 400 && f.httpStatus <= 599, `${kind}: ${f.httpStatus}`);
      assert.equal(f.grpcStatus, grpcStatusForHttp(f.httpStatus), `${kind}: grpc-status`);
      assert.ok(f.body.length > 0, `${kind}: body`);
    }
  });

  it('a configured status maps through the spec; a configured gRPC status wins', () => {
    const abort = FAILURE.FAULT_ABORT;
    assert.equal(grpcStatusOf(abort, abort.httpStatus), abort.grpcStatus);
    assert.equal(grpcStatusOf(abort, 404), GRPC.UNIMPLEMENTED);
    assert.equal(grpcStatusOf(abort, 404, 9), 9);
    assert.equal(grpcStatusOf(FAILURE.DENIED, 403), GRPC.PERMISSION_DENIED);
  });

  it('counts an exchange by its flags, each flag to the counter the table gives it', () => {
    const stats = new ProxyStats();
    countFlags(stats, 'URX,UF');
    countFlags(stats, 'UO');
    countFlags(stats, 'DC');
    countFlags(stats, 'UPE');
    assert.deepEqual(
      [stats.upstreamConnectFailures, stats.overflows, stats.downstreamResets],
      [1, 1, 1],
    );
    assert.deepEqual([stats.upstreamProtocolErrors, stats.downstreamProtocolErrors], [1, 0]);
    assert.equal(stats.noHealthyUpstream + stats.upstreamTimeouts + stats.rateLimited, 0);
  });

  it('an error of the table is a FerryError with its code, found again by failureOf', () => {
    const err = new FailureError(FAILURE.UPSTREAM_TIMEOUT, 'per-try timeout');
    assert.ok(err instanceof FerryError);
    assert.equal(err.code, 'FERRY_UPSTREAM_TIMEOUT');
    assert.equal(err.name, 'FailureError');
    assert.equal(failureOf(err), FAILURE.UPSTREAM_TIMEOUT);
    assert.equal(failureOf(new Error('x')), undefined);
  });

  it("a raw reply is HTTP/1.1 node's client reads: status, flag, body, then the connection closes", async () => {
    const f = FAILURE.NO_ROUTE;
    const server = http.createServer();
    server.on('connection', (socket) =>
      socket.end(rawReply(f.httpStatus, 'no route for x/', f.flag)),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const reply = await new Promise<{
        status: number;
        flags: unknown;
        body: string;
        conn: unknown;
      }>((resolve, reject) => {
        http
          .get({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                flags: res.headers['x-ferry-response-flags'],
                body,
                conn: res.headers.connection,
              }),
            );
          })
          .on('error', reject);
      });
      assert.deepEqual(reply, {
        status: 404,
        flags: 'NR',
        body: 'no route for x/\n',
        conn: 'close',
      });
    } finally {
      server.close();
    }
  });
});
