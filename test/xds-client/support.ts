/** Helpers for the xDS client tests: a sidecar node, bounded waits, a log recorder. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/log/index.js';
import { type Node, nodeMetadataFor } from '../../src/xds/index.js';
import type { ProxyConfig, ResourceEntry, XdsClient } from '../../src/xds-client/index.js';
import { type ClaLike, claAddresses } from '../support/xds-client.js';

/** A sidecar of service `web` (port 8080) whose app listens on 9080. */
export function sidecarNode(id: string): Node {
  return {
    id,
    metadata: nodeMetadataFor({
      service: 'web',
      namespace: 'default',
      labels: {},
      serviceAccount: 'web',
      address: '127.0.0.1',
      inboundPort: 15006,
      outboundPort: 15001,
      appPort: 9080,
      region: '',
      zone: '',
      health: 'HEALTHY',
    }),
  };
}

/** The first configuration (the current one or a later one) that satisfies `test`. */
export function configWhere(
  client: XdsClient,
  test: (config: ProxyConfig) => boolean,
  ms = 5000,
): Promise<ProxyConfig> {
  const current = client.current();
  if (current && test(current)) return Promise.resolve(current);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(`no matching configuration within ${ms} ms (at ${client.current()?.version})`),
      );
    }, ms);
    const off = client.onConfig((config) => {
      if (!test(config)) return;
      clearTimeout(timer);
      off();
      resolve(config);
    });
  });
}

/** Polls `test` every 10 ms; rejects after `ms`. */
export async function eventually(test: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function addresses(entry: ResourceEntry | undefined): string[] {
  return entry ? claAddresses(entry.value as unknown as ClaLike) : [];
}

/** The virtual host names of a route configuration entry. */
export function vhostNames(entry: ResourceEntry | undefined): string[] {
  const hosts = (entry?.value.virtual_hosts ?? []) as Array<{ name: string }>;
  return hosts.map((h) => h.name);
}

/** A debug-level logger that keeps every record, for asserting on what the client did. */
export function recordingLogger(): { log: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) records.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), records };
}
