import { PlumblineError } from '../errors.js';

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

interface Bucket {
  tokens: number;
  updated: number;
  /** When the bucket last moved to the most recently seen end of the map. */
  moved: number;
}

/**
 * A token bucket per client key, bounded in memory.
 *
 * @internal
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxClients: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  /** @throws {@link PlumblineError} `PLB_ADMIN_CONFIG_INVALID` for non-positive limits. */
  constructor(options: AdminRateLimitOptions, now: () => number) {
    this.#rate = options.requestsPerSecond ?? 10;
    this.#burst = options.burst ?? 20;
    this.#maxClients = options.maxClients ?? 10_000;
    if (!(this.#rate > 0) || !(this.#burst >= 1) || !Number.isFinite(this.#burst)) {
      throw new PlumblineError(
        'PLB_ADMIN_CONFIG_INVALID',
        'rateLimit.requestsPerSecond must be positive and rateLimit.burst at least 1',
      );
    }
    if (!Number.isInteger(this.#maxClients) || this.#maxClients < 1) {
      throw new PlumblineError(
        'PLB_ADMIN_CONFIG_INVALID',
        'rateLimit.maxClients must be a positive integer',
      );
    }
    this.#now = now;
  }

  /** Takes one request from `key`'s bucket: 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxClients) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      bucket = { tokens: this.#burst, updated: now, moved: now };
      this.#buckets.set(key, bucket);
    } else {
      const elapsed = Math.max(0, now - bucket.updated) / 1000;
      bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsed * this.#rate);
      bucket.updated = now;
      // Map order is the eviction order. Moving an entry to the end costs a delete and an insert,
      // so a busy client moves at most once a second.
      if (now - bucket.moved >= 1000 || now < bucket.moved) {
        this.#buckets.delete(key);
        this.#buckets.set(key, bucket);
        bucket.moved = now;
      }
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
  }
}
