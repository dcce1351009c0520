/**
 * Earliest-deadline-first scheduling over a fixed set of items, as Envoy's weighted round robin
 * and weighted least request use: an item of weight w comes due every 1/w time units, so weights
 * 90:10 interleave (nine, one, nine, one…) rather than arrive in bursts. O(log n) per pick over
 * preallocated typed arrays; no allocation after construction.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers
 */
export class EdfScheduler {
  /** Item indices, a binary min-heap ordered by (deadline, seq). */
  private readonly heap: Int32Array;
  private readonly deadline: Float64Array;
  /** Insertion order, to break deadline ties first-in first-out and deterministically. */
  private readonly seq: Float64Array;
  private nextSeq = 0;
  readonly size: number;

  /** `weights` must be positive and finite; the schedule starts at time 0. */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.size = n;
    this.heap = new Int32Array(n);
    this.deadline = new Float64Array(n);
    this.seq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.heap[i] = i;
      this.deadline[i] = 1 / weights[i];
      this.seq[i] = this.nextSeq++;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** The index of the item due next. The scheduler must not be empty. */
  peek(): number {
    return this.heap[0];
  }

  /** Reschedules the item due next one period of `weight` after its current deadline. */
  advance(weight: number): void {
    const top = this.heap[0];
    this.deadline[top] = this.deadline[top] + 1 / weight;
    this.seq[top] = this.nextSeq++;
    this.siftDown(0);
  }

  private before(a: number, b: number): boolean {
    const da = this.deadline[a];
    const db = this.deadline[b];
    return da < db || (da === db && this.seq[a] < this.seq[b]);
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = this.size;
    let i = start;
    const item = heap[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(heap[right], heap[left]) ? right : left;
      if (!this.before(heap[child], item)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = item;
  }
}
