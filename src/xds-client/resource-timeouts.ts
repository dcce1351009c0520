/**
 * The does-not-exist timer of the xDS protocol: a named resource asked for that neither
 * arrives nor is reported missing within a while is taken not to exist, so a server that
 * never answers for it cannot hold the configuration back for ever. Timers run only while
 * connected. Envoy's initial_fetch_timeout and gRPC's timer are both 15 s.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#knowing-when-a-requested-resource-does-not-exist
 */
export class ResourceTimeouts {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly ms: number,
    private readonly expire: (typeUrl: string, name: string) => void,
  ) {}

  /** Keeps a timer running for each of these resources, and for no other. */
  track(missing: ReadonlyArray<{ readonly typeUrl: string; readonly name: string }>): void {
    const keys = new Set<string>();
    for (const { typeUrl, name } of missing) {
      const key = `${typeUrl}\u0000${name}`;
      keys.add(key);
      if (this.timers.has(key)) continue;
      const timer = setTimeout(() => {
        this.timers.delete(key);
        this.expire(typeUrl, name);
      }, this.ms);
      timer.unref();
      this.timers.set(key, timer);
    }
    for (const [key, timer] of this.timers) {
      if (keys.has(key)) continue;
      clearTimeout(timer);
      this.timers.delete(key);
    }
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
