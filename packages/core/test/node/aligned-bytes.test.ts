import { afterEach, describe, expect, it, vi } from 'vitest';
import { alignedBytes } from '../../src/node/aligned-bytes.js';

afterEach(() => vi.unstubAllGlobals());

describe('alignedBytes', () => {
  it('gives zeroed bytes of the size asked for, on memory of whole pages', () => {
    for (const size of [0, 1, 4096, 65_536, 65_537, 1024 * 1024]) {
      const bytes = alignedBytes(size);
      expect(bytes.length).toBe(size);
      expect(bytes.byteOffset).toBe(0);
      // A WebAssembly memory: its buffer is a whole number of 64 KiB pages.
      expect(bytes.buffer.byteLength % 65_536).toBe(0);
      expect(bytes.buffer.byteLength).toBeGreaterThanOrEqual(size);
      expect(bytes.every((b) => b === 0)).toBe(true);
    }
  });

  it('gives each caller its own memory', () => {
    const a = alignedBytes(16);
    const b = alignedBytes(16);
    a[0] = 1;
    expect(b[0]).toBe(0);
  });

  it('falls back to a plain Uint8Array where WebAssembly is missing', () => {
    vi.stubGlobal('WebAssembly', undefined);
    const bytes = alignedBytes(100);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(100);
    expect(bytes.buffer.byteLength).toBe(100);
  });
});
