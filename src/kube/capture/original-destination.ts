/**
 * The original destination of a connection that iptables redirected to the sidecar
 * (SO_ORIGINAL_DST), through the small Node-API addon in native/original-dst. Node has
 * no getsockopt of its own, hence the addon.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { CaptureError } from './capture-error.js';

export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
  /** 4 or 6: the family of the original destination. */
  readonly family: 4 | 6;
}

interface Addon {
  originalDst(fd: number): OriginalDestination | null;
}

// dist/src/kube/capture/ (compiled) -> native/original-dst/build/Release/
const ADDON_PATH = fileURLToPath(
  new URL('../../../../native/original-dst/build/Release/original_dst.node', import.meta.url),
);

/** How to build the addon; quoted in the error when it is missing. */
export const ADDON_BUILD_COMMAND =
  'node-gyp rebuild --directory native/original-dst --nodedir=/usr (npm run build:native)';

let loaded: Addon | CaptureError | undefined;

function addon(): Addon {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH) as Addon;
    } catch (err) {
      loaded = new CaptureError(
        'FERRY_ORIGINAL_DST_UNAVAILABLE',
        `the SO_ORIGINAL_DST addon is not built (${ADDON_PATH}); build it with: ${ADDON_BUILD_COMMAND}`,
        { cause: err },
      );
    }
  }
  if (loaded instanceof CaptureError) throw loaded;
  return loaded;
}

/** Whether the addon is built and loads, for callers that can do without it. */
export function originalDestinationAvailable(): boolean {
  try {
    addon();
    return true;
  } catch {
    return false;
  }
}

/**
 * The destination the client asked for before a REDIRECT, or undefined when the
 * connection has no NAT entry (it reached the socket directly, or conntrack is off).
 * Works for IPv4, IPv6 and IPv4 connections on a dual-stack (`::`) listener.
 * Throws FERRY_ORIGINAL_DST_UNAVAILABLE when the addon is not built.
 */
export function originalDestination(socket: net.Socket): OriginalDestination | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const a = addon();
  if (typeof fd !== 'number' || fd < 0) return undefined;
  return a.originalDst(fd) ?? undefined;
}
