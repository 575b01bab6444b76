import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSha256,
  getHashBackend,
  nobleHashBackend,
  nodeCryptoHashBackend,
  setHashBackend,
  sha256,
  toHex,
} from '@plumbline/core/hash';
import { merkleRoot } from '@plumbline/core/merkle';

const nodeBackend = nodeCryptoHashBackend()!;

afterEach(() => setHashBackend(undefined));

describe('hash backends', () => {
  it('selects node:crypto on Node', () => {
    expect(nodeBackend.name).toBe('node:crypto');
    expect(getHashBackend().name).toBe('node:crypto');
  });

  it('agree one-shot on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (data) => {
        expect(toHex(nobleHashBackend.sha256(data))).toBe(toHex(nodeBackend.sha256(data)));
      }),
      { numRuns: 300 },
    );
  });

  it('write the same digest in place at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(40), (data, at) => {
        const out = new Uint8Array(at + 40).fill(0xee);
        nodeBackend.sha256Into!(data, out, at);
        expect(toHex(out.subarray(at, at + 32))).toBe(toHex(nobleHashBackend.sha256(data)));
        // Only the 32 digest bytes are written.
        expect([...out.subarray(0, at), ...out.subarray(at + 32)].every((b) => b === 0xee)).toBe(
          true,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('agree incrementally for any split of the input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), (chunks) => {
        const a = nobleHashBackend.createSha256();
        const b = nodeBackend.createSha256();
        for (const chunk of chunks) {
          expect(a.update(chunk)).toBe(a);
          b.update(chunk);
        }
        const whole = Buffer.concat(chunks);
        const expected = createHash('sha256').update(whole).digest('hex');
        expect(toHex(a.digest())).toBe(expected);
        expect(toHex(b.digest())).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('returns plain Uint8Array views of 32 bytes from node:crypto', () => {
    const digest = nodeBackend.sha256(new Uint8Array([1, 2, 3]));
    expect(digest).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(digest)).toBe(false);
    expect(digest.length).toBe(32);
    expect(Buffer.isBuffer(nodeBackend.createSha256().digest())).toBe(false);
  });

  it('runs the whole stack on the noble path when selected', () => {
    const inputs = Array.from({ length: 37 }, (_, i) => new Uint8Array([i, i * 7, 255 - i]));
    const fast = toHex(merkleRoot(inputs));
    setHashBackend(nobleHashBackend);
    expect(getHashBackend().name).toBe('@noble/hashes');
    expect(toHex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(
      toHex(
        createSha256()
          .update(new Uint8Array([0x61, 0x62, 0x63]))
          .digest(),
      ),
    ).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(merkleRoot(inputs))).toBe(fast);
    setHashBackend(undefined);
    expect(getHashBackend().name).toBe('node:crypto');
  });
});
