/** A tcpSocket probe as the kubelet runs it: it passes when a connection opens, and is closed. */
import net from 'node:net';
import type { TcpSocketProbe } from './app-probe.js';
import { hostPort, type ProbeResult } from './probe-result.js';

export function probeTcp(p: TcpSocketProbe, host: string, timeoutMs: number): Promise<ProbeResult> {
  const target = p.host ?? host;
  const where = hostPort(target, p.port);
  return new Promise((resolve) => {
    const socket = net.connect({ host: target, port: p.port });
    const finish = (r: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, detail: `connect ${where}: no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('connect', () => finish({ ok: true, detail: `connect ${where}: open` }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `connect ${where}: ${err.code ?? err.message}` }),
    );
  });
}
