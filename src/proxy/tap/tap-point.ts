/**
 * Where a listener's finished requests can be tapped. The listener is handed `hook` in place
 * of its metrics recorder; `hook` calls whichever function is in force: the recorder alone
 * while nobody taps (one extra call, no test, no allocation per request), the recorder and
 * the publisher while someone does. Subscribing swaps the publisher in; the last subscriber
 * leaving swaps it out (pino's way: a feature that is off is a different function, not an
 * `if` on the hot path).
 */
import type { RequestOutcome } from '../http/index.js';
import { type TapDirection, type TapEvent, tapEvent } from './tap-event.js';
import { type TapFilter, tapMatches } from './tap-filter.js';

export interface TapSubscriber {
  readonly filter: TapFilter;
  deliver(e: TapEvent): void;
}

type Recorder = (x: RequestOutcome) => void;

export class TapPoint {
  /** What the listener calls once per finished request (stable: the listener keeps it). */
  readonly hook: Recorder;
  private current: Recorder;
  private readonly recordAndPublish: Recorder;
  private subscribers: readonly TapSubscriber[] = [];

  constructor(
    readonly direction: TapDirection,
    /** This workload, `name.namespace`. */
    private readonly self: string,
    private readonly record: Recorder,
  ) {
    this.current = record;
    this.hook = (x) => this.current(x);
    this.recordAndPublish = (x) => {
      record(x);
      this.publish(x);
    };
  }

  /** Whether someone taps this listener now. */
  get active(): boolean {
    return this.current !== this.record;
  }

  add(s: TapSubscriber): void {
    if (s.filter.direction !== undefined && s.filter.direction !== this.direction) return;
    this.subscribers = [...this.subscribers, s];
    this.current = this.recordAndPublish;
  }

  remove(s: TapSubscriber): void {
    this.subscribers = this.subscribers.filter((x) => x !== s);
    if (this.subscribers.length === 0) this.current = this.record;
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
