/**
 * A semaphore whose limit adapts to rate limits the way TCP congestion control does (AIMD):
 * +1 after every `limit` successes, up to `max`; halved (min 1) on a 429. A 429 may also carry
 * Retry-After, which pauses every new request until it elapses: the provider's window is shared,
 * so sending other requests early would only earn more 429s.
 *
 * One decrease per window: a burst of 429s from requests that were all in flight at the moment
 * of the first one would otherwise collapse the limit to 1. A 429 only halves the limit if its
 * request was granted after the last decrease.
 */
export type Outcome = 'success' | 'failure' | 'rate-limited';

export interface Permit {
  /** Give the slot back, saying how the request went; later calls are ignored. */
  release(outcome: Outcome, retryAfterMs?: number): void;
}

interface Waiter {
  grant: (p: Permit) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class AimdLimiter {
  private currentLimit: number;
  private readonly max: number;
  private inFlight = 0;
  private successes = 0;
  /** Bumped on every decrease; a permit remembers the epoch it was granted in. */
  private epoch = 0;
  private pausedUntil = 0;
  private resumeTimer: NodeJS.Timeout | undefined;
  private readonly waiters: Waiter[] = [];

  constructor(opts: { initial: number; max: number }) {
    this.max = Math.max(1, Math.floor(opts.max));
    this.currentLimit = Math.min(this.max, Math.max(1, Math.floor(opts.initial)));
  }

  get limit(): number {
    return this.currentLimit;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Milliseconds until new requests may start again (0 when not paused). */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - Date.now());
  }

  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Permit>((grant, reject) => {
      const waiter: Waiter = { grant, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.pump();
    });
  }

  private pump(): void {
    const wait = this.pausedFor();
    if (wait > 0) {
      if (this.waiters.length > 0 && !this.resumeTimer) {
        this.resumeTimer = setTimeout(() => {
          this.resumeTimer = undefined;
          this.pump();
        }, wait);
      }
      return;
    }
    while (this.waiters.length > 0 && this.inFlight < this.currentLimit) {
      const w = this.waiters.shift()!;
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      this.inFlight++;
      w.grant(this.permit(this.epoch));
    }
  }

  private permit(epoch: number): Permit {
    let released = false;
    return {
      release: (outcome, retryAfterMs) => {
        if (released) return;
        released = true;
        this.inFlight--;
        if (outcome === 'success') this.onSuccess();
        else if (outcome === 'rate-limited') this.onRateLimit(epoch, retryAfterMs);
        this.pump();
      },
    };
  }

  private onSuccess(): void {
    if (++this.successes >= this.currentLimit) {
      this.successes = 0;
      this.currentLimit = Math.min(this.max, this.currentLimit + 1);
    }
  }

  private onRateLimit(epoch: number, retryAfterMs: number | undefined): void {
    if (epoch === this.epoch) {
      this.currentLimit = Math.max(1, Math.floor(this.currentLimit / 2));
      this.successes = 0;
      this.epoch++;
    }
    if (retryAfterMs && retryAfterMs > 0) {
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + retryAfterMs);
      // A longer pause than the one already scheduled: reschedule from the new end.
      if (this.resumeTimer) {
        clearTimeout(this.resumeTimer);
        this.resumeTimer = undefined;
      }
    }
  }
}
