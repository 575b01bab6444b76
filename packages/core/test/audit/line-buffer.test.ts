import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineBuffer, type LineBatch } from '../../src/audit/line-buffer.js';

const decoder = new TextDecoder();
const text = (batch: LineBatch): string => batch.parts.map((p) => decoder.decode(p)).join('');
const lines = (batch: LineBatch): string[] => text(batch).split('\n').slice(0, -1);

describe('LineBuffer', () => {
  it('cuts batches of at most maxBatch lines and keeps their order', () => {
    const buffer = new LineBuffer(3, 64);
    for (let i = 0; i < 8; i++) buffer.push(JSON.stringify({ i }));
    expect(buffer.count).toBe(8);
    const batches: LineBatch[] = [];
    for (let b = buffer.shift(); b; b = buffer.shift()) batches.push(b);
    expect(batches.map((b) => b.count)).toEqual([3, 3, 2]);
    expect(batches.flatMap(lines)).toEqual(Array.from({ length: 8 }, (_, i) => `{"i":${i}}`));
    expect(buffer.count).toBe(0);
    expect(buffer.shift()).toBeUndefined();
  });

  it('spreads a batch over several slabs at line boundaries and gives a long line a slab of its own', () => {
    const buffer = new LineBuffer(100, 32);
    const input = ['a'.repeat(10), 'b'.repeat(100), 'c'.repeat(5), 'é'.repeat(9), '😀'];
    for (const l of input) buffer.push(l);
    const batch = buffer.shift()!;
    expect(batch.count).toBe(5);
    expect(batch.parts.length).toBeGreaterThan(1);
    for (const part of batch.parts) expect(part[part.length - 1]).toBe(0x0a);
    expect(lines(batch)).toEqual(input);
  });

  it('reuses a slab only once every batch cut from it was released', () => {
    // Four lines of 7 bytes fit in a slab of 32.
    const buffer = new LineBuffer(2, 32);
    for (let i = 0; i < 4; i++) buffer.push(`line-${i}`);
    const first = buffer.shift()!;
    const second = buffer.shift()!;
    expect(buffer.pooled).toBe(0);
    // Fill more slabs while the first two batches are still out: their bytes must not change.
    for (let i = 4; i < 40; i++) buffer.push(`line-${i}`);
    expect(lines(first)).toEqual(['line-0', 'line-1']);
    expect(lines(second)).toEqual(['line-2', 'line-3']);
    // The first batch's slab also holds the second's lines: releasing one must not free it.
    buffer.release(first);
    for (let i = 40; i < 80; i++) buffer.push(`line-${i}`);
    expect(lines(second)).toEqual(['line-2', 'line-3']);
    buffer.release(second);
    expect(buffer.pooled).toBeGreaterThan(0);
    const rest: string[] = [];
    for (let b = buffer.shift(); b; b = buffer.shift()) {
      rest.push(...lines(b));
      buffer.release(b);
    }
    expect(rest).toEqual(Array.from({ length: 76 }, (_, i) => `line-${i + 4}`));
  });

  it('gives every line back exactly once and in order, whatever the interleaving of push, shift and release (model)', () => {
    const op = fc.oneof(
      {
        arbitrary: fc.record({
          push: fc.oneof(
            fc.string({ maxLength: 6 }),
            fc.string({ unit: 'grapheme', maxLength: 12 }),
          ),
        }),
        weight: 8,
      },
      { arbitrary: fc.constant({ shift: true }), weight: 3 },
      { arbitrary: fc.record({ release: fc.nat() }), weight: 3 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 16, max: 96 }),
        fc.array(op, { maxLength: 200 }),
        (maxBatch, slab, ops) => {
          const buffer = new LineBuffer(maxBatch, slab);
          let waiting: string[] = [];
          // Batches shifted out and not yet released, with the lines they must still hold.
          const out: { batch: LineBatch; expected: string[] }[] = [];
          for (const o of ops) {
            if ('push' in o) {
              buffer.push(JSON.stringify(o.push));
              waiting.push(JSON.stringify(o.push));
            } else if ('shift' in o) {
              const batch = buffer.shift();
              if (waiting.length === 0) {
                expect(batch).toBeUndefined();
                continue;
              }
              expect(batch!.count).toBeGreaterThan(0);
              expect(batch!.count).toBeLessThanOrEqual(maxBatch);
              out.push({ batch: batch!, expected: waiting.slice(0, batch!.count) });
              waiting = waiting.slice(batch!.count);
            } else {
              if (out.length === 0) continue;
              const [released] = out.splice(o.release % out.length, 1);
              buffer.release(released!.batch);
            }
            expect(buffer.count).toBe(waiting.length);
            // No slab is reused while a batch cut from it is still out.
            for (const { batch, expected } of out) expect(lines(batch)).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
