import { limitOption } from '../limit-option.js';

/**
 * Per-client rate limit of the admin handler (a token bucket per client).
 *
 * @public
 */
export interface AdminRateLimitOptions {
  /** Sustained requests per second per client. Default 10. */
  readonly requestsPerSecond?: number;
  /** Requests a client may make in a burst. Default 20. */
  readonly burst?: number;
  /**
   * Clients tracked at once; the least recently seen (to within a second) is forgotten first.
   * Default 10 000.
   */
  readonly maxClients?: number;
}

/**
 * One token bucket: it holds at most `burst` tokens and refills at `rate` tokens per second; each
 * request takes one. The one token-bucket rule of the SDK: {@link RateLimiter}, the audit logger's
 * deny-storm limit and the WebSocket transport's per-connection message limit are built on it.
 * Callers check `rate` and `burst` (positive) before they build one.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(10, 20, Date.now());
 * if (bucket.take(Date.now()) > 0) console.log('rate limited');
 * ```
 * @public
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #updated: number;

  /** A full bucket at time `now` (ms). */
  constructor(rate: number, burst: number, now: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updated = now;
  }

  /** Takes one token at time `now` (ms): 0 when taken, else the whole seconds to wait (at least 1). */
  take(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate));
  }

  /** Whether the bucket has refilled to `burst` by time `now` (ms), without changing it. */
  fullAt(now: number): boolean {
    return this.#tokens + (Math.max(0, now - this.#updated) / 1000) * this.#rate >= this.#burst;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#updated) / 1000;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    this.#updated = now;
  }
}

interface Entry {
  readonly bucket: TokenBucket;
  /** When the entry last moved to the most recently seen end of the map. */
  moved: number;
}

/**
 * A {@link TokenBucket} per client key, bounded in memory: the keyed rate limit of the SDK (the
 * admin handler's per-client limit, the Barbacane transport's per-connection frame limit). A key may
 * make `burst` requests at once, then `requestsPerSecond`; the least recently seen key is
 * forgotten first once `maxClients` keys are tracked.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ requestsPerSecond: 10, burst: 100 }, Date.now);
 * if (limiter.take('connection-1') > 0) console.log('rate limited');
 * ```
 * @public
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxClients: number;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  /**
   * @throws {@link PlumblineError} `PLB_ADMIN_CONFIG_INVALID` for a rate that is not a positive
   *   number, a burst below 1, or a `maxClients` that is not a positive integer.
   */
  constructor(options: AdminRateLimitOptions, now: () => number) {
    const code = 'PLB_ADMIN_CONFIG_INVALID';
    this.#rate = limitOption(options.requestsPerSecond, {
      name: 'rateLimit.requestsPerSecond',
      code,
      fallback: 10,
      integer: false,
    });
    this.#burst = limitOption(options.burst, {
      name: 'rateLimit.burst',
      code,
      fallback: 20,
      integer: false,
      min: 1,
    });
    this.#maxClients = limitOption(options.maxClients, {
      name: 'rateLimit.maxClients',
      code,
      fallback: 10_000,
    });
    this.#now = now;
  }

  /** Takes one request from `key`'s bucket: 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= this.#maxClients) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      entry = { bucket: new TokenBucket(this.#rate, this.#burst, now), moved: now };
      this.#entries.set(key, entry);
    } else if (now - entry.moved >= 1000 || now < entry.moved) {
      // Map order is the eviction order. Moving an entry to the end costs a delete and an insert,
      // so a busy client moves at most once a second.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      entry.moved = now;
    }
    return entry.bucket.take(now);
  }
}
