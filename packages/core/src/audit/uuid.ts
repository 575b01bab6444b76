let lastMs = -1;
let sequence = 0;
// Random bytes are drawn in blocks: one getRandomValues call per 256 ids.
const POOL = new Uint8Array(16 * 256);
let poolOffset = POOL.length;
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

/**
 * Generates an RFC 9562 UUIDv7: a 48-bit Unix millisecond timestamp, then random bits, with a
 * 12-bit counter in `rand_a` so ids generated in the same millisecond by one process still sort in
 * creation order. Uses `crypto.getRandomValues` (a Web API available in every runtime).
 *
 * @example
 * ```ts
 * import { uuidv7 } from '@plumbline/core/audit';
 * const id = uuidv7(); // e.g. "019ab0c4-5e2a-7c01-8a3f-2b9e1d0c4f11"
 * ```
 * @public
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset === POOL.length) {
    crypto.getRandomValues(POOL);
    poolOffset = 0;
  }
  const bytes = POOL.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  let ms = Math.floor(now);
  if (ms > lastMs) {
    lastMs = ms;
    // Start the counter at a random value in the lower half so it has room to rise.
    sequence = ((bytes[6]! & 0x07) << 8) | bytes[7]!;
  } else {
    ms = lastMs;
    sequence++;
    if (sequence > 0xfff) {
      // Counter overflow: borrow the next millisecond (RFC 9562 §6.2 method 1).
      lastMs++;
      ms = lastMs;
      sequence = 0;
    }
  }
  // 48-bit big-endian timestamp without bit operators (they truncate to 32 bits).
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes[6] = 0x70 | ((sequence >> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const b = bytes;
  return (
    HEX[b[0]!]! +
    HEX[b[1]!]! +
    HEX[b[2]!]! +
    HEX[b[3]!]! +
    '-' +
    HEX[b[4]!]! +
    HEX[b[5]!]! +
    '-' +
    HEX[b[6]!]! +
    HEX[b[7]!]! +
    '-' +
    HEX[b[8]!]! +
    HEX[b[9]!]! +
    '-' +
    HEX[b[10]!]! +
    HEX[b[11]!]! +
    HEX[b[12]!]! +
    HEX[b[13]!]! +
    HEX[b[14]!]! +
    HEX[b[15]!]!
  );
}

const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Whether `value` is a lowercase RFC 9562 UUIDv7 string.
 *
 * @example
 * ```ts
 * isUuidv7(uuidv7()); // true
 * ```
 * @public
 */
export function isUuidv7(value: unknown): value is string {
  return typeof value === 'string' && UUIDV7_RE.test(value);
}

/**
 * The Unix millisecond timestamp encoded in a UUIDv7.
 *
 * @example
 * ```ts
 * uuidv7Time(uuidv7(1_700_000_000_000)); // 1700000000000
 * ```
 * @public
 */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
