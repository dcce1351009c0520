import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { batchWrite } from '../../../src/proxy/http1/write-batch.js';

/** A connected pair of loopback sockets; `received` gathers what the server side reads. */
async function pair(): Promise<{
  client: net.Socket;
  reads: Buffer[];
  ended: Promise<unknown>;
  close: () => void;
}> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  await once(client, 'connect');
  const reads: Buffer[] = [];
  accepted.on('data', (chunk: Buffer) => reads.push(chunk));
  const ended = once(accepted, 'end');
  return {
    client,
    reads,
    ended,
    close: () => {
      client.destroy();
      accepted.destroy();
      server.close();
    },
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('batchWrite', () => {
  it('holds a turn’s writes to a socket and sends them, in order, when the turn ends', async () => {
    const p = await pair();
    try {
      batchWrite(p.client, 'HTTP/1.1 200 OK\r\n');
      batchWrite(p.client, Buffer.from('content-length: 2\r\n\r\nok'));
      // Still held: nothing has left, the bytes wait in the corked socket.
      assert.equal(p.client.writableCorked, 1);
      assert.equal(p.client.writableLength, 17 + 23);
      await nextTurn();
      assert.equal(p.client.writableCorked, 0);
      p.client.end();
      await p.ended;
      assert.equal(
        Buffer.concat(p.reads).toString('latin1'),
        'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
      );
    } finally {
      p.close();
    }
  });

  it('sends what is held when the socket is ended in the same turn', async () => {
    const p = await pair();
    try {
      batchWrite(p.client, 'last words');
      p.client.end();
      await p.ended;
      assert.equal(Buffer.concat(p.reads).toString('latin1'), 'last words');
      await nextTurn(); // the pending uncork finds an ended socket and does nothing
    } finally {
      p.close();
    }
  });

  it('reports backpressure as a plain write does', async () => {
    const p = await pair();
    try {
      const big = Buffer.alloc(p.client.writableHighWaterMark);
      assert.equal(batchWrite(p.client, big), false);
      await nextTurn();
    } finally {
      p.close();
    }
  });

  it('lets a socket destroyed before the turn ends go, with nothing thrown', async () => {
    const p = await pair();
    try {
      batchWrite(p.client, 'never sent');
      p.client.destroy();
      await nextTurn();
      assert.equal(p.reads.length, 0);
    } finally {
      p.close();
    }
  });
});
