import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileHandleSource } from '@plumbline/core/node';

const dir = mkdtempSync(join(tmpdir(), 'plb-container-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fileHandleSource', () => {
  it('returns the bytes read, and nothing but zeros past them in the memory behind them', async () => {
    const path = join(dir, 'ten.bin');
    writeFileSync(path, '0123456789');
    const handle = await open(path);
    const source = fileHandleSource(handle, true);
    try {
      const whole = await source.read(0, 64 * 1024);
      expect(new TextDecoder().decode(whole)).toBe('0123456789');
      const behind = new Uint8Array(whole.buffer, whole.byteOffset, 64 * 1024);
      expect(behind.subarray(10).every((b) => b === 0)).toBe(true);
      expect(new TextDecoder().decode(await source.read(4, 3))).toBe('456');
      expect((await source.read(10, 5)).length).toBe(0);
    } finally {
      await source.close?.();
    }
  });
});
