import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  decodeCanonical,
  encodeCanonical,
  sortKeysCanonical,
  utf8Length,
  type CborValue,
} from '../../src/cbor/index.js';
import { encodePrefix, prefixLength } from '@plumbline/core/container';
import { isWellFormed } from '@plumbline/core/hash';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return 'none';
}

describe('encodeCanonical', () => {
  // RFC 8949 Appendix A vectors that deterministic encoding keeps.
  test.each<[CborValue, string]>([
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [100, '1864'],
    [1000, '1903e8'],
    [1000000, '1a000f4240'],
    [1000000000000, '1b000000e8d4a51000'],
    [2 ** 32, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-1, '20'],
    [-1000, '3903e7'],
    [-(2 ** 32) - 1, '3b0000000100000000'],
    ['', '60'],
    ['a', '6161'],
    ['IETF', '6449455446'],
    ['ü', '62c3bc'],
    ['a'.repeat(24), `7818${'61'.repeat(24)}`],
    [[1, [2, 3], [4, 5]], '8301820203820405'],
    [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
    [new Uint8Array([1, 2, 3, 4]), '4401020304'],
    [false, 'f4'],
    [true, 'f5'],
    [null, 'f6'],
    [{}, 'a0'],
  ])('%j encodes as %s', (value, expected) => {
    expect(hex(encodeCanonical(value))).toBe(expected);
  });

  test('sorts keys by encoded bytes (shorter first), whatever the insertion order', () => {
    expect(hex(encodeCanonical({ aa: 1, b: 2, '10': 3 }))).toBe('a3616202623130036261610' + '1');
    expect(encodeCanonical({ x: 1, y: { b: 1, a: 2 } })).toEqual(
      encodeCanonical({ y: { a: 2, b: 1 }, x: 1 }),
    );
  });

  test('orders keys exactly as their encoded bytes sort, for any Unicode keys', () => {
    const encodedKey = (key: string): Uint8Array => encodeCanonical(key);
    const byBytes = (a: string, b: string): number => {
      const x = encodedKey(a);
      const y = encodedKey(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++)
        if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    };
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary', maxLength: 300 })),
          { maxLength: 12 },
        ),
        (keys) => {
          const wellFormed = keys.filter((k) => isWellFormed(k));
          expect(sortKeysCanonical(wellFormed)).toEqual([...wellFormed].sort(byBytes));
          for (const k of wellFormed) expect(utf8Length(k)).toBe(Buffer.byteLength(k));
        },
      ),
      { numRuns: 300 },
    );
    expect(hex(encodeCanonical({ '\u{1F600}': 1, '\uFFFF': 2 }))).toBe('a263efbfbf0264f09f988001');
  });

  test('prefixLength matches encodePrefix', () => {
    expect(prefixLength(5, 1)).toBe(encodePrefix(new Uint8Array(5), new Uint8Array(1)).length);
  });

  test('leaves out undefined properties and writes -0 as 0', () => {
    expect(hex(encodeCanonical({ a: undefined, b: -0 } as never))).toBe('a1616200');
  });

  test.each([
    ['float', 1.5],
    ['NaN', Number.NaN],
    ['unsafe integer', 2 ** 53],
    ['bigint', 1n],
    ['undefined in an array', [undefined]],
    ['Date', new Date(0)],
    ['lone surrogate', '\ud800'],
    ['function', () => 1],
  ])('refuses a %s', (_, value) => {
    expect(codeOf(() => encodeCanonical(value as never))).toBe('PLB_CBOR_UNSUPPORTED');
  });
});

describe('decodeCanonical', () => {
  test('round-trips arbitrary values', () => {
    const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(tie('v'), { maxLength: 5 }),
        fc.dictionary(fc.string(), tie('v'), { maxKeys: 5 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        const encoded = encodeCanonical(v);
        const decoded = decodeCanonical(encoded, { allowBytes: true });
        expect(encodeCanonical(decoded)).toEqual(encoded);
        expect(decoded).toEqual(
          JSON.parse(JSON.stringify(v, (_, x: unknown) => x)) === undefined ? v : decoded,
        );
      }),
      { numRuns: 300 },
    );
  });

  test('decodes maps to plain objects, keeping "__proto__" as an own key', () => {
    const decoded = decodeCanonical(
      encodeCanonical(JSON.parse('{"__proto__":{"polluted":1}}') as CborValue),
    ) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
  });

  test('decodes 64-bit integers up to 2^53 - 1 as numbers', () => {
    expect(decodeCanonical(bytes('1b001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeCanonical(bytes('3b0000000100000000'))).toBe(-(2 ** 32) - 1);
  });

  test.each([
    ['duplicate key', 'a2616101616102', 'PLB_CBOR_DUPLICATE_KEY'],
    ['keys out of order', 'a2616201616101', 'PLB_CBOR_NONCANONICAL'],
    ['longer key first', 'a262616101616202', 'PLB_CBOR_NONCANONICAL'],
    ['non-shortest integer', '1817', 'PLB_CBOR_NONCANONICAL'],
    ['non-shortest 16-bit', '190017', 'PLB_CBOR_NONCANONICAL'],
    ['non-shortest 32-bit', '1a0000ffff', 'PLB_CBOR_NONCANONICAL'],
    ['non-shortest 64-bit', '1b00000000ffffffff', 'PLB_CBOR_NONCANONICAL'],
    ['non-shortest string length', '780161', 'PLB_CBOR_NONCANONICAL'],
    ['half float', 'f93c00', 'PLB_CBOR_FLOAT'],
    ['single float', 'fa3fc00000', 'PLB_CBOR_FLOAT'],
    ['double float', 'fb3ff8000000000000', 'PLB_CBOR_FLOAT'],
    ['float inside a map', 'a16161fb3ff8000000000000', 'PLB_CBOR_FLOAT'],
    ['tag', 'c074323031332d30332d32315432303a30343a30305a', 'PLB_CBOR_TAG'],
    ['self-described CBOR tag', 'd9d9f700', 'PLB_CBOR_TAG'],
    ['indefinite array', '9f01ff', 'PLB_CBOR_INDEFINITE'],
    ['indefinite map', 'bf616101ff', 'PLB_CBOR_INDEFINITE'],
    ['indefinite text', '7f6161ff', 'PLB_CBOR_INDEFINITE'],
    ['indefinite bytes', '5f4101ff', 'PLB_CBOR_INDEFINITE'],
    ['lone break', 'ff', 'PLB_CBOR_MALFORMED'],
    ['reserved additional info', '1c', 'PLB_CBOR_MALFORMED'],
    ['indefinite integer', '1f', 'PLB_CBOR_MALFORMED'],
    ['undefined', 'f7', 'PLB_CBOR_UNSUPPORTED'],
    ['simple value', 'f0', 'PLB_CBOR_UNSUPPORTED'],
    ['one-byte simple value', 'f820', 'PLB_CBOR_UNSUPPORTED'],
    ['integer key', 'a10102', 'PLB_CBOR_UNSUPPORTED'],
    ['byte string where not allowed', '4101', 'PLB_CBOR_UNSUPPORTED'],
    ['integer beyond 2^53 - 1', '1b0020000000000000', 'PLB_CBOR_UNSUPPORTED'],
    ['integer below -(2^53 - 1)', '3b001fffffffffffff', 'PLB_CBOR_UNSUPPORTED'],
    ['invalid UTF-8', '62c328', 'PLB_CBOR_MALFORMED'],
    ['trailing bytes', '0000', 'PLB_CBOR_MALFORMED'],
    ['empty input', '', 'PLB_TRUNCATED'],
    ['truncated head', '19', 'PLB_TRUNCATED'],
    ['truncated string', '6461', 'PLB_TRUNCATED'],
    ['truncated array', '8201', 'PLB_TRUNCATED'],
    ['truncated map', 'a16161', 'PLB_TRUNCATED'],
  ])('refuses %s', (_, input, code) => {
    expect(codeOf(() => decodeCanonical(bytes(input)))).toBe(code);
  });

  test('reports the offset of a truncation, shifted by baseOffset', () => {
    try {
      decodeCanonical(bytes('a1616182'), { baseOffset: 100 });
      expect.unreachable();
    } catch (error) {
      expect(PlumblineError.is(error, 'PLB_TRUNCATED')).toBe(true);
      expect((error as PlumblineError).details['offset']).toBe(104);
    }
  });

  test('allows byte strings when asked', () => {
    expect(decodeCanonical(bytes('a1616141ff'), { allowBytes: true })).toEqual({
      a: new Uint8Array([0xff]),
    });
  });

  test('checks claimed lengths against limits before allocating (4 GiB claims)', () => {
    expect(codeOf(() => decodeCanonical(bytes('7affffffff61')))).toBe('PLB_LIMIT_STRING');
    expect(codeOf(() => decodeCanonical(bytes('5affffffff'), { allowBytes: true }))).toBe(
      'PLB_LIMIT_STRING',
    );
    expect(codeOf(() => decodeCanonical(bytes('9affffffff01')))).toBe('PLB_LIMIT_ENTRIES');
    expect(codeOf(() => decodeCanonical(bytes('baffffffff')))).toBe('PLB_LIMIT_ENTRIES');
    expect(codeOf(() => decodeCanonical(bytes('1b00000001000000ff'.slice(0, 10))))).toBe(
      'PLB_TRUNCATED',
    );
    // Within the limits but beyond the input: truncated, without allocating.
    expect(codeOf(() => decodeCanonical(bytes('9a000f4240'), { maxEntries: 2_000_000 }))).toBe(
      'PLB_TRUNCATED',
    );
    expect(
      codeOf(() => decodeCanonical(bytes('7a000f424061'), { maxStringLength: 2_000_000 })),
    ).toBe('PLB_TRUNCATED');
  });

  test('enforces maxBytes, maxEntries, maxItems, maxStringLength and maxDepth', () => {
    expect(codeOf(() => decodeCanonical(encodeCanonical('x'.repeat(100)), { maxBytes: 50 }))).toBe(
      'PLB_LIMIT_BYTES',
    );
    expect(codeOf(() => decodeCanonical(encodeCanonical([1, 2, 3]), { maxEntries: 2 }))).toBe(
      'PLB_LIMIT_ENTRIES',
    );
    expect(codeOf(() => decodeCanonical(encodeCanonical([[1], [2], [3]]), { maxItems: 5 }))).toBe(
      'PLB_LIMIT_ENTRIES',
    );
    expect(codeOf(() => decodeCanonical(encodeCanonical('abcd'), { maxStringLength: 3 }))).toBe(
      'PLB_LIMIT_STRING',
    );
    expect(decodeCanonical(encodeCanonical([1, 2]), { maxEntries: 2 })).toEqual([1, 2]);
    const nest = (n: number): Uint8Array => bytes(`${'81'.repeat(n)}00`);
    expect(codeOf(() => decodeCanonical(nest(32)))).toBe('none');
    expect(codeOf(() => decodeCanonical(nest(33)))).toBe('PLB_LIMIT_DEPTH');
    expect(codeOf(() => decodeCanonical(nest(100_000)))).toBe('PLB_LIMIT_DEPTH');
    expect(codeOf(() => decodeCanonical(bytes(`${'a16161'.repeat(40)}00`)))).toBe(
      'PLB_LIMIT_DEPTH',
    );
  });

  test('refuses, before building it, a value that would take more than maxExpansion × its size', () => {
    // 100,000 empty maps: 100 KB of CBOR, about 6 MB as objects.
    const maps = bytes(`9a000186a0${'a0'.repeat(100_000)}`);
    expect(codeOf(() => decodeCanonical(maps))).toBe('PLB_LIMIT_MEMORY');
    expect(codeOf(() => decodeCanonical(maps, { maxExpansion: 100 }))).toBe('none');
    // 100,000 two-byte integers: 4 times their size, within the default of 6.
    const ints = bytes(`9a000186a0${'1820'.repeat(100_000)}`);
    expect(codeOf(() => decodeCanonical(ints))).toBe('none');
    expect(codeOf(() => decodeCanonical(ints, { maxExpansion: 3 }))).toBe('PLB_LIMIT_MEMORY');
    try {
      decodeCanonical(maps, { baseOffset: 14 });
    } catch (error) {
      expect((error as PlumblineError).details).toMatchObject({ size: maps.length, offset: 14 });
    }
  });

  test('a maxDepth beyond what the stack holds still ends in a coded error', () => {
    const deep = new Uint8Array(2_000_001).fill(0x81);
    deep[deep.length - 1] = 0;
    expect(codeOf(() => decodeCanonical(deep, { maxDepth: 10_000_000, maxBytes: 1e9 }))).toMatch(
      /^PLB_/,
    );
  });

  test('random bytes only ever produce a value or a PlumblineError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (input, allowBytes) => {
        try {
          const value = decodeCanonical(input, { allowBytes });
          // Whatever decodes is canonical: encoding it gives the same bytes back.
          expect(encodeCanonical(value)).toEqual(input);
        } catch (error) {
          expect(PlumblineError.is(error)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
