import assert from 'node:assert/strict';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ControlPlaneError } from '../../src/controlplane/control-plane-error.js';
import { bindGrpc, shutdownGrpc } from '../../src/controlplane/grpc-port.js';
import { assertPortFree, portError } from '../../src/controlplane/port-probe.js';
import { silentLogger } from '../../src/log/index.js';
import { mesh, service } from '../support/mesh.js';
import { startControlPlane } from '../support/mesh-harness.js';

/** A port held by a plain TCP server for the test. */
async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('control plane port probing', () => {
  it('names the port and what it is for when it is in use', async () => {
    const held = await holdPort();
    try {
      await assert.rejects(assertPortFree('xDS', '127.0.0.1', held.port), (err: unknown) => {
        assert.ok(err instanceof ControlPlaneError);
        assert.equal(err.code, 'FERRY_PORT_IN_USE');
        assert.equal(err.message, `xDS port 127.0.0.1:${held.port} is already in use`);
        return true;
      });
    } finally {
      await held.close();
    }
    await assertPortFree('xDS', '127.0.0.1', held.port);
  });

  it('tells a failure to listen from a busy port', () => {
    const err = portError('HTTP', '10.255.0.1', 80, new Error('listen EADDRNOTAVAIL'));
    assert.equal(err.code, 'FERRY_LISTEN_FAILED');
    assert.match(
      err.message,
      /^cannot listen on HTTP port 10\.255\.0\.1:80: listen EADDRNOTAVAIL$/,
    );
  });

  it('binds a gRPC server on a free port, and refuses a busy one before grpc-js tries', async () => {
    const server = new grpc.Server();
    const held = await holdPort();
    try {
      const port = await bindGrpc(
        server,
        'xDS',
        '127.0.0.1',
        0,
        grpc.ServerCredentials.createInsecure(),
      );
      assert.ok(port > 0);
      await assert.rejects(
        bindGrpc(
          new grpc.Server(),
          'secure (TLS)',
          '127.0.0.1',
          held.port,
          grpc.ServerCredentials.createInsecure(),
        ),
        /secure \(TLS\) port 127\.0\.0\.1:\d+ is already in use/,
      );
    } finally {
      await held.close();
      await shutdownGrpc(server);
    }
  });

  it('fails to start a control plane on a busy debug port with one clear error, leaving nothing open', async () => {
    const held = await holdPort();
    try {
      await assert.rejects(
        startControlPlaneOn(held.port),
        (err: unknown) => err instanceof ControlPlaneError && err.code === 'FERRY_PORT_IN_USE',
      );
    } finally {
      await held.close();
    }
    // The xDS port it had bound was closed again: another control plane starts at once.
    const cp = await startControlPlane(mesh(service('a', 8080, 'http', [])));
    await cp.close();
  });
});

async function startControlPlaneOn(httpPort: number) {
  const { ControlPlane } = await import('../../src/controlplane/index.js');
  return ControlPlane.start({
    config: mesh(service('a', 8080, 'http', [])),
    xdsPort: 0,
    httpPort,
    warmupMs: 0,
    log: silentLogger(),
  });
}
