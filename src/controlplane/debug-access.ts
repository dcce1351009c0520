/**
 * Who may read the control plane's debug endpoints that reveal the mesh (/debug/syncz,
 * /debug/config_dump, /debug/registry: every workload, address, identity and route): a
 * client on loopback, as Envoy's and istiod's admin/debug ports are meant to be reached,
 * or one that presents the operator's debug token (`Authorization: Bearer <token>`, RFC
 * 6750), compared in constant time. Anything else gets 401 (a token is configured) or 403.
 */
import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { isIP } from 'node:net';

export interface DebugRefusal {
  readonly status: 401 | 403;
  readonly message: string;
}

/** Whether a peer address is loopback (127.0.0.0/8, ::1, or IPv4-mapped 127/8). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** A check of one request: undefined when it may read, else the answer to give. */
export function debugAccess(
  token: string | undefined,
): (req: http.IncomingMessage) => DebugRefusal | undefined {
  const expected = token ? Buffer.from(token) : undefined;
  return (req) => {
    if (isLoopback(req.socket.remoteAddress)) return undefined;
    if (!expected)
      return {
        status: 403,
        message:
          'the debug endpoints answer loopback clients only; start the control plane with --debug-token-file to let others in with a bearer token',
      };
    const given = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (given !== undefined) {
      const bytes = Buffer.from(given);
      if (bytes.length === expected.length && timingSafeEqual(bytes, expected)) return undefined;
    }
    return {
      status: 401,
      message: 'the debug endpoints need "Authorization: Bearer <debug token>" from this address',
    };
  };
}
