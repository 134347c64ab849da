/**
 * How much of the corpus a build holds at once (issue 17): repositories are admitted while the
 * bytes of the sources in flight stay under a budget (and their count under a cap tied to the
 * worker pool), and a repository's files are stored concurrently while the bytes read but not
 * yet stored stay under a budget of their own. So a corpus of small packages keeps many in
 * flight (both cores busy, the cache's writes grouped into few transactions: lmdb-js commits the
 * writes pending together in one transaction), and a huge repository holds the pipeline to a
 * few. Nothing here changes what is built, only when.
 */

/** Bytes of the sources in flight (their admitted files' sizes) above which no new source starts. */
export const SOURCE_BYTES_IN_FLIGHT = 64 * 1024 * 1024;
/** Bytes of files read and not yet stored, across the build. */
export const FILE_BYTES_IN_FLIGHT = 32 * 1024 * 1024;
/**
 * Files read and not yet stored, across the build. Enough to group the cache's writes (a batch
 * of 32 files costs a few commits instead of 3-4 per file), few enough that the main thread's
 * share of their work (hashing, the secret scan) never keeps one file's write waiting long.
 */
export const FILES_IN_FLIGHT = 32;

/** Sources at once: at least 4, 4 per worker thread (a repository spends much of its time waiting on the pool or the cache), at most 32. */
export function sourcesAtOnce(threads: number): number {
  return Math.min(32, Math.max(4, threads * 4));
}

/**
 * A counting budget of bytes and items. `take` waits while taking would go over, except when
 * nothing is held: one item larger than the whole budget still goes, alone, so nothing waits
 * forever. Waiters are served in the order they came.
 */
export class Budget {
  private bytes = 0;
  private items = 0;
  private readonly waiting: Array<{ n: number; go: () => void }> = [];

  constructor(
    readonly maxBytes: number,
    readonly maxItems: number,
  ) {}

  /** Bytes held now. */
  get held(): number {
    return this.bytes;
  }

  /** Items held now. */
  get count(): number {
    return this.items;
  }

  private fits(n: number): boolean {
    return this.items === 0 || (this.items < this.maxItems && this.bytes + n <= this.maxBytes);
  }

  take(n: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(n)) {
      this.bytes += n;
      this.items++;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiting.push({ n, go }));
  }

  /** Add bytes to what an item already holds (a source's size grows as its files are read). */
  grow(n: number): void {
    this.bytes += n;
  }

  give(n: number): void {
    this.bytes -= n;
    this.items--;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.n)) {
      const w = this.waiting.shift()!;
      this.bytes += w.n;
      this.items++;
      w.go();
    }
  }
}

/** The budgets of one build: sources admitted, and file bytes between read and stored. */
export interface InFlight {
  sources: Budget;
  files: Budget;
}

export function inFlight(threads: number): InFlight {
  return {
    // Admission by bytes already held: a source enters while the sources in flight hold less than
    // the budget (take(0)), then grows by its files' sizes as they are read.
    sources: new Budget(SOURCE_BYTES_IN_FLIGHT, sourcesAtOnce(threads)),
    files: new Budget(FILE_BYTES_IN_FLIGHT, FILES_IN_FLIGHT),
  };
}

/**
 * The promises of one pass's files, in walk order. `failed` turns true at the first failure (the
 * pass stops reading); `values()` waits until every one has settled, so nothing outlives the
 * pass, then gives the values in order or throws the first failure in order.
 */
export class InOrder<T> {
  private readonly all: Array<Promise<T>> = [];
  failed = false;

  add(p: Promise<T>): void {
    this.all.push(p);
    p.catch(() => {
      this.failed = true;
    });
  }

  async values(): Promise<T[]> {
    const settled = await Promise.allSettled(this.all);
    const out: T[] = [];
    for (const r of settled) {
      if (r.status === 'rejected') throw r.reason;
      out.push(r.value);
    }
    return out;
  }
}

/** Every promise settled, then the values in order or the first failure in order. */
export async function allInOrder<T>(ps: Array<Promise<T>>): Promise<T[]> {
  const o = new InOrder<T>();
  for (const p of ps) o.add(p);
  return o.values();
}
