import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeLines } from '../../src/audit/encode-lines.js';

const reference = (lines: readonly string[]): Uint8Array =>
  new TextEncoder().encode(lines.map((l) => `${l}\n`).join(''));

describe('encodeLines', () => {
  it('gives the bytes of the lines joined by newlines, ending in one', () => {
    expect(new TextDecoder().decode(encodeLines(['{"a":1}', '{"b":"é"}']))).toBe(
      '{"a":1}\n{"b":"é"}\n',
    );
    expect(encodeLines([])).toEqual(new Uint8Array(0));
    expect(encodeLines([''])).toEqual(new Uint8Array([0x0a]));
  });

  it('agrees with TextEncoder on any text, on both paths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 20 }),
        (lines) => {
          const expected = reference(lines);
          expect(encodeLines(lines)).toEqual(expected);
          // A limit of 1 forces the line-by-line path.
          expect(encodeLines(lines, 1)).toEqual(expected);
          expect(encodeLines(new Set(lines))).toEqual(reference([...new Set(lines)]));
        },
      ),
    );
  });

  it('encodes 4-byte characters and lone surrogates as TextEncoder does', () => {
    const lines = ['😀'.repeat(5), '\ud800x', 'a\udc00'];
    expect(encodeLines(lines)).toEqual(reference(lines));
    expect(encodeLines(lines, 1)).toEqual(reference(lines));
  });
});
