/** How far out of order a capture may be and still come out sorted. */
export interface TimeOrderOptions {
  /** Items are held until one `windowMs` later in time was seen (multi-interface pcapng writers interleave by up to a buffer flush). */
  windowMs: number;
  /** Most items held at once, whatever their times: bounds memory on a capture that is far out of order. */
  maxHeld: number;
}

/** Counter of the reordering. */
export interface TimeOrderStats {
  /** Items that came later than the window allows: passed on at once, with the time of the last item passed on. */
  late: number;
}

/**
 * Yields `items` sorted by `timeOf` (ties in input order) as long as none is more than the window
 * out of place, holding at most `maxHeld` of them. A later item is passed on with its time raised
 * to the last one passed on, so times never go backwards, and counted in `stats.late`.
 */
export function* inTimeOrder<T>(
  items: Iterable<T>,
  timeOf: (item: T) => number,
  options: TimeOrderOptions,
  stats: TimeOrderStats,
): Generator<{ item: T; timeMs: number }, void, undefined> {
  const heap = new MinHeap<T>();
  let newestMs = -Infinity;
  let lastMs = -Infinity;
  const next = (): { item: T; timeMs: number } => {
    const { item, timeMs } = heap.pop();
    if (timeMs < lastMs) stats.late++;
    else lastMs = timeMs;
    return { item, timeMs: lastMs };
  };
  for (const item of items) {
    const timeMs = timeOf(item);
    heap.push(item, timeMs);
    if (timeMs > newestMs) newestMs = timeMs;
    while (heap.size > 0 && (heap.size > options.maxHeld || heap.peekTime() <= newestMs - options.windowMs)) yield next();
  }
  while (heap.size > 0) yield next();
}

/** Binary min-heap on (time, arrival order), so equal times keep their input order. */
class MinHeap<T> {
  private readonly entries: { item: T; timeMs: number; order: number }[] = [];
  private pushed = 0;

  get size(): number {
    return this.entries.length;
  }

  peekTime(): number {
    return this.entries[0]!.timeMs;
  }

  push(item: T, timeMs: number): void {
    const e = this.entries;
    e.push({ item, timeMs, order: this.pushed++ });
    let i = e.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { item: T; timeMs: number } {
    const e = this.entries;
    const top = e[0]!;
    const last = e.pop()!;
    if (e.length > 0) {
      e[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < e.length && this.less(l, m)) m = l;
        if (r < e.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.entries[a]!;
    const y = this.entries[b]!;
    return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.order < y.order);
  }

  private swap(a: number, b: number): void {
    const e = this.entries;
    [e[a], e[b]] = [e[b]!, e[a]!];
  }
}
