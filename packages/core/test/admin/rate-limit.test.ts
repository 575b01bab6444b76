import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RateLimiter, TokenBucket } from '../../src/admin/rate-limit.js';

describe('RateLimiter', () => {
  it('never allows more than burst + rate x elapsed requests per client', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.constantFrom('a', 'b', 'c')), {
          maxLength: 200,
        }),
        (rate, burst, steps) => {
          let clock = 0;
          const limiter = new RateLimiter(
            { requestsPerSecond: rate, burst, maxClients: 10 },
            () => clock,
          );
          const allowed = new Map<string, number>();
          for (const [advance, client] of steps) {
            clock += advance;
            const wait = limiter.take(client);
            expect(wait === 0 || (Number.isInteger(wait) && wait >= 1)).toBe(true);
            if (wait === 0) allowed.set(client, (allowed.get(client) ?? 0) + 1);
          }
          for (const count of allowed.values()) {
            expect(count).toBeLessThanOrEqual(burst + Math.ceil((rate * clock) / 1000));
          }
        },
      ),
    );
  });

  it('lets a refused client in again after the Retry-After it was given', () => {
    let clock = 0;
    const limiter = new RateLimiter({ requestsPerSecond: 0.5, burst: 1 }, () => clock);
    expect(limiter.take('x')).toBe(0);
    const wait = limiter.take('x');
    expect(wait).toBe(2);
    clock += wait * 1000;
    expect(limiter.take('x')).toBe(0);
  });

  it('forgets the least recently seen client first when full', () => {
    let clock = 0;
    const limiter = new RateLimiter({ requestsPerSecond: 1, burst: 1, maxClients: 2 }, () => clock);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('b')).toBe(0);
    clock += 1500;
    // 'a' is seen again (a second later: it moves to the recent end), then 'c' evicts 'b'.
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('c')).toBe(0);
    // 'a' kept its (now empty) bucket; 'b' was forgotten and starts with a full one.
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('gives burst tokens at once, then one per 1/rate seconds, and says when it is full again', () => {
    const bucket = new TokenBucket(2, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0]);
    expect(bucket.fullAt(0)).toBe(false);
    expect(bucket.take(0)).toBe(1);
    expect(bucket.take(400)).toBe(1);
    expect(bucket.take(900)).toBe(0);
    expect(bucket.fullAt(1900)).toBe(false);
    expect(bucket.fullAt(2100)).toBe(true);
    // A clock that goes back refills nothing.
    expect(bucket.take(100)).toBe(1);
  });
});
