/**
 * The address the sidecar's listeners bind. `::` (what the injector gives) is one
 * dual-stack socket per listener: it takes IPv6 connections and IPv4 ones (as IPv4-mapped
 * addresses, `::ffff:a.b.c.d`), so both `ferry init`'s iptables REDIRECTs (to 127.0.0.1 or
 * the pod's IPv4 address) and its ip6tables REDIRECTs (to ::1 or the pod's IPv6 address)
 * reach it. Node's listen() clears IPV6_V6ONLY itself, whatever net.ipv6.bindv6only says.
 *
 * A kernel without IPv6 (booted with ipv6.disable=1) has no IPv6 sockets at all: `::`
 * cannot be bound there, and the listeners take 0.0.0.0 instead, with a warning. (IPv6
 * turned off by sysctl, disable_ipv6=1, still binds `::` and needs no fallback.)
 */
import net from 'node:net';
import type { Logger } from '../../log/index.js';

/** The IPv6 unspecified address, in the spellings `--bind` may be given. */
const IPV6_ANY = new Set(['::', '[::]', '0:0:0:0:0:0:0:0']);

/** Errors that mean the machine has no IPv6 sockets, not that `::` is in use or refused. */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EPROTONOSUPPORT', 'EADDRNOTAVAIL']);

/** Binds `host` on a port the kernel picks, and closes it; the error code, if it failed. */
function probe(host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(0, host, () => server.close(() => resolve(undefined)));
  });
}

/**
 * `bind` itself, or 0.0.0.0 when it is the IPv6 unspecified address and this machine cannot
 * bind IPv6 (logged once, at warn). Any other failure is left to the listeners to report.
 */
export async function usableBindAddress(bind: string, log: Logger): Promise<string> {
  if (!IPV6_ANY.has(bind)) return bind;
  const code = await probe('::');
  if (code === undefined || !NO_IPV6.has(code)) return '::';
  log.warn(
    { bind, error: code },
    `IPv6 is not available on this machine (${code} binding ::): the listeners bind 0.0.0.0, IPv4 only; IPv6 connections cannot reach this sidecar`,
  );
  return '0.0.0.0';
}
