/**
 * How the benchmarks start proxy-load.js (the load generator) in its closed-loop mode:
 * one command line for every benchmark that saturates a proxy with it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** proxy-load.js, next to this file in dist/bench. */
export const PROXY_LOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'proxy-load.js');

/**
 * node's arguments for proxy-load.js in `sat` mode: `connections` keep-alive connections to
 * 127.0.0.1:`port` with Host `host`, each sending its next request when the last is answered,
 * for `seconds`.
 */
export function saturationArgs(
  port: number,
  host: string,
  seconds: number,
  connections: number,
): string[] {
  return [
    PROXY_LOAD,
    '--mode',
    'sat',
    '--port',
    String(port),
    '--host',
    host,
    '--seconds',
    String(seconds),
    '--connections',
    String(connections),
  ];
}
