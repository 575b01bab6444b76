import { mkdtempSync, openSync, closeSync, fstatSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSha256, sha256 } from '@plumbline/core/hash';
import {
  hashFileRest,
  hashFileRestSync,
  hashFileStart,
  readError,
} from '../../src/node/hash-file.js';

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

  it('reads the rest synchronously chunk by chunk, then writes the digest and closes the file', () => {
    const file = join(dir, 'h');
    const content = new Uint8Array(100).map((_, i) => i);
    writeFileSync(file, content);
    const started = hashFileStart(file, 'h', new Uint8Array(16));
    if (typeof started === 'number') throw new Error('expected a pending file');
    const out = new Uint8Array(40);
    const steps = [...hashFileRestSync(started, new Uint8Array(32), out, 8)];
    // 16 bytes were hashed by hashFileStart; the rest comes in reads of at most 32 bytes.
    expect(steps).toEqual([32, 32, 20]);
    expect(out.subarray(8)).toEqual(sha256(content));
    expect(out.subarray(0, 8)).toEqual(new Uint8Array(8));
    expect(() => fstatSync(started.fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('closes the file and writes no digest when the reader is left early', () => {
    const file = join(dir, 'i');
    writeFileSync(file, new Uint8Array(100).fill(7));
    const started = hashFileStart(file, 'i', new Uint8Array(16));
    if (typeof started === 'number') throw new Error('expected a pending file');
    const out = new Uint8Array(32);
    for (const n of hashFileRestSync(started, new Uint8Array(32), out, 0)) {
      expect(n).toBe(32);
      break;
    }
    expect(out).toEqual(new Uint8Array(32));
    expect(() => fstatSync(started.fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('throws a read error from the synchronous reader after closing the file', () => {
    const file = join(dir, 'j');
    writeFileSync(file, 'z'.repeat(64));
    const fd = openSync(file, 'r');
    closeSync(fd);
    const reader = hashFileRestSync(
      { fd, hasher: createSha256(), offset: 16 },
      new Uint8Array(16),
      new Uint8Array(32),
      0,
    );
    expect(() => reader.next()).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
