/**
 * Where a listener's finished requests can be tapped. The listener calls a recorder per
 * finished request (its Istio metrics); the tap point decides which one by installing it
 * in the listener's options: the metrics recorder itself while nobody taps (the listener's
 * path is then exactly what it is without tap: no test, no extra call, no allocation), the
 * recorder-and-publisher from the first subscriber to the last (pino's way: a feature that
 * is off is a different function, not an `if` on the hot path).
 */
import type { RequestOutcome } from '../http/index.js';
import { type TapDirection, type TapEvent, tapEvent } from './tap-event.js';
import { type TapFilter, tapMatches } from './tap-filter.js';

export interface TapSubscriber {
  readonly filter: TapFilter;
  deliver(e: TapEvent): void;
}

export type Recorder = (x: RequestOutcome) => void;

export class TapPoint {
  private readonly recordAndPublish: Recorder;
  private subscribers: readonly TapSubscriber[] = [];

  /**
   * `install` puts a recorder in force in the listener (its handlers' `istio` option); it
   * is called now with `record`, and again each time tapping starts or stops.
   */
  constructor(
    readonly direction: TapDirection,
    /** This workload, `name.namespace`. */
    private readonly self: string,
    private readonly record: Recorder,
    private readonly install: (recorder: Recorder) => void,
  ) {
    this.recordAndPublish = (x) => {
      record(x);
      this.publish(x);
    };
    install(record);
  }

  /** Whether someone taps this listener now. */
  get active(): boolean {
    return this.subscribers.length > 0;
  }

  add(s: TapSubscriber): void {
    if (s.filter.direction !== undefined && s.filter.direction !== this.direction) return;
    this.subscribers = [...this.subscribers, s];
    if (this.subscribers.length === 1) this.install(this.recordAndPublish);
  }

  remove(s: TapSubscriber): void {
    const before = this.subscribers.length;
    this.subscribers = this.subscribers.filter((x) => x !== s);
    if (before > 0 && this.subscribers.length === 0) this.install(this.record);
  }

  private publish(x: RequestOutcome): void {
    const event = tapEvent(this.direction, this.self, x, performance.now());
    for (const s of this.subscribers) if (tapMatches(s.filter, event)) s.deliver(event);
  }
}

/** Both listeners' tap points, and who this sidecar is (the first line of a tap stream). */
export class TapHub {
  constructor(
    readonly points: readonly TapPoint[],
    readonly describe: () => Readonly<Record<string, unknown>>,
  ) {}

  subscribe(s: TapSubscriber): () => void {
    for (const p of this.points) p.add(s);
    return () => {
      for (const p of this.points) p.remove(s);
    };
  }
}
