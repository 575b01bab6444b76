import { TokenBucket } from '../admin/rate-limit.js';
import { limitOption } from '../limit-option.js';
import type { AuditOutcome } from './envelope.js';

/**
 * Deny-storm limiting: a token bucket per (type, actor, outcome) key. Events beyond the bucket are
 * not written but counted, and an `audit.events_suppressed` event with `suppressed_count` is
 * written when the key is admitted again, on every summary interval, on `flush` and on `close`:
 * an attacker cannot flood the trail or the disk, and nothing is dropped silently.
 *
 * @public
 */
export interface AuditRateLimitOptions {
  /** Events a key may emit at once. Default 20. */
  readonly burst?: number;
  /** Sustained events per second per key. Default 2. */
  readonly perSecond?: number;
  /** Outcomes that are limited. Default `['deny', 'failure']` (successes are never limited). */
  readonly outcomes?: readonly AuditOutcome[];
  /**
   * Most keys tracked at once. Further keys share one bucket per (type, outcome) with the actor
   * recorded as `*`, so key churn cannot grow memory. Default 10,000.
   */
  readonly maxKeys?: number;
  /** How often pending suppression summaries are written. Default 60,000 ms. */
  readonly summaryIntervalMs?: number;
}

/** A pending suppression summary. @internal */
export interface SuppressionSummary {
  readonly type: string;
  readonly actor: string;
  readonly outcome: AuditOutcome;
  readonly count: number;
  readonly windowStart: number;
  readonly windowEnd: number;
}

interface Bucket {
  readonly type: string;
  readonly actor: string;
  readonly outcome: AuditOutcome;
  readonly tokens: TokenBucket;
  suppressed: number;
  windowStart: number;
  windowEnd: number;
}

/**
 * The token buckets behind {@link AuditRateLimitOptions} (core's one `TokenBucket` per key). The
 * logger owns one.
 *
 * @internal
 */
export class DenyStormLimiter {
  readonly #burst: number;
  readonly #rate: number;
  readonly #outcomes: ReadonlySet<AuditOutcome>;
  readonly #maxKeys: number;
  readonly summaryIntervalMs: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: AuditRateLimitOptions = {}) {
    const rule = { code: 'PLB_AUDIT_CONFIG', integer: false } as const;
    this.#burst = limitOption(options.burst, { ...rule, name: 'rate limit burst', fallback: 20 });
    this.#rate = limitOption(options.perSecond, {
      ...rule,
      name: 'rate limit perSecond',
      fallback: 2,
    });
    this.#outcomes = new Set(options.outcomes ?? ['deny', 'failure']);
    this.#maxKeys = limitOption(options.maxKeys, {
      ...rule,
      name: 'rate limit maxKeys',
      fallback: 10_000,
    });
    this.summaryIntervalMs = limitOption(options.summaryIntervalMs, {
      ...rule,
      name: 'rate limit summaryIntervalMs',
      fallback: 60_000,
    });
  }

  /**
   * Takes a token for the key. Returns `admitted: false` when the event must be suppressed, and a
   * summary of earlier suppressions to write first when the key is admitted again.
   */
  take(
    type: string,
    actor: string,
    outcome: AuditOutcome,
    now: number,
  ): { admitted: boolean; summary?: SuppressionSummary } {
    if (!this.#outcomes.has(outcome)) return { admitted: true };
    let key = `${type}\u0000${outcome}\u0000${actor}`;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#prune(now);
      if (this.#buckets.size >= this.#maxKeys) {
        actor = '*';
        key = `${type}\u0000${outcome}\u0000*`;
        bucket = this.#buckets.get(key);
      }
      if (bucket === undefined) {
        bucket = {
          type,
          actor,
          outcome,
          tokens: new TokenBucket(this.#rate, this.#burst, now),
          suppressed: 0,
          windowStart: 0,
          windowEnd: 0,
        };
        this.#buckets.set(key, bucket);
      }
    }
    if (bucket.tokens.take(now) === 0) {
      if (bucket.suppressed > 0) return { admitted: true, summary: this.#drain(bucket) };
      return { admitted: true };
    }
    if (bucket.suppressed === 0) bucket.windowStart = now;
    bucket.suppressed++;
    bucket.windowEnd = now;
    return { admitted: false };
  }

  /** Takes every pending summary (for the interval timer, `flush` and `close`). */
  drainAll(): SuppressionSummary[] {
    const out: SuppressionSummary[] = [];
    for (const bucket of this.#buckets.values())
      if (bucket.suppressed > 0) out.push(this.#drain(bucket));
    return out;
  }

  /** Number of keys tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  #drain(bucket: Bucket): SuppressionSummary {
    const summary = {
      type: bucket.type,
      actor: bucket.actor,
      outcome: bucket.outcome,
      count: bucket.suppressed,
      windowStart: bucket.windowStart,
      windowEnd: bucket.windowEnd,
    };
    bucket.suppressed = 0;
    return summary;
  }

  /** Forgets keys whose bucket has refilled and that have nothing pending. */
  #prune(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.suppressed === 0 && b.tokens.fullAt(now)) this.#buckets.delete(key);
    }
  }
}
