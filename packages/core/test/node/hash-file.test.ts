import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSha256 } from '@plumbline/core/hash';
import { hashFileRest, hashFileStart, readError } from '../../src/node/hash-file.js';

const dir = mkdtempSync(join(tmpdir(), 'plb-hashfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file hashing', () => {
  it('names the path and errno when a file cannot be opened', () => {
    expect(() => hashFileStart(join(dir, 'missing'), 'missing', new Uint8Array(16))).toThrow(
      expect.objectContaining({
        code: 'PLB_INPUT_READ',
        details: { path: 'missing', errno: 'ENOENT' },
      }),
    );
    expect(readError('x', new Error('plain')).details).toEqual({ path: 'x' });
  });

  it('refuses a directory opened in place of a file', () => {
    expect(() => hashFileStart(dir, 'dir', new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: 'PLB_INPUT_UNSUPPORTED', details: { path: 'dir' } }),
    );
  });

  it('reports read errors while streaming and closes the descriptor', async () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'x'.repeat(64));
    const fd = openSync(file, 'r');
    closeSync(fd);
    await expect(
      hashFileRest({ fd, hasher: createSha256(), offset: 16 }, 'f', undefined),
    ).rejects.toThrow(
      expect.objectContaining({
        code: 'PLB_INPUT_READ',
        details: expect.objectContaining({ path: 'f' }),
      }),
    );
  });

  it('continues a file larger than the first buffer', async () => {
    const file = join(dir, 'g');
    writeFileSync(file, 'y'.repeat(40));
    const started = hashFileStart(file, 'g', new Uint8Array(16));
    expect(typeof started).toBe('object');
    if (typeof started === 'number') return;
    const done = await hashFileRest(started, 'g', undefined);
    expect(done.size).toBe(40);
  });
});
