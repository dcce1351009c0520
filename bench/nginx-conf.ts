/**
 * The nginx that `npm run bench` measures against and uses as an upstream: one
 * configuration, tuned the same everywhere so that comparisons between benchmarks hold
 * (no access log, connections kept alive for the whole run).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './proxy-procs.js';

export interface NginxSetup {
  /** The port the configuration's `PORT` placeholder became. */
  readonly port: number;
  /** The nginx command line (prefix, error log and this configuration). */
  readonly args: string[];
}

/**
 * Writes `dir`/nginx.conf with `workers` worker processes and `http` (the body of the http
 * block; every `PORT` in it is replaced by a port that was free a moment ago).
 */
export async function writeNginxConf(
  dir: string,
  workers: number,
  http: string,
): Promise<NginxSetup> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  ${http.replaceAll('PORT', String(port))}
}
`,
  );
  return { port, args: ['-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', conf] };
}
