import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { withAtomicFile, writeFileAtomic } from '../../src/node/atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  test('replaces the file and leaves no temporary file', async () => {
    const path = join(dir, 'a.json');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  test('applies the mode', async () => {
    const path = join(dir, 'secret');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]), { mode: 0o600, fsync: false });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
  });

  test('a missing folder fails with ENOENT and writes nothing', async () => {
    await expect(writeFileAtomic(join(dir, 'no', 'a.json'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('withAtomicFile', () => {
  test('readable: the writer reads back what it wrote; otherwise the handle is write-only', async () => {
    const path = join(dir, 'r.bin');
    const back = await withAtomicFile(
      path,
      async (handle) => {
        await handle.write(Buffer.from('abc'), 0, 3, 0);
        const buffer = Buffer.alloc(3);
        await handle.read(buffer, 0, 3, 0);
        return buffer.toString('utf8');
      },
      { readable: true, fsync: false },
    );
    expect(back).toBe('abc');
    await expect(
      withAtomicFile(join(dir, 'w.bin'), (handle) => handle.read(Buffer.alloc(1), 0, 1, 0)),
    ).rejects.toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect((await readdir(dir)).sort()).toEqual(['r.bin']);
  });

  test('a failing writer keeps the old file, removes the temporary one and rethrows', async () => {
    const path = join(dir, 'a.plb');
    await writeFile(path, 'old');
    const failure = new Error('disk on fire');
    await expect(
      withAtomicFile(path, async (handle) => {
        await handle.write('half');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['a.plb']);
  });

  test("returns the writer's result after the rename", async () => {
    const path = join(dir, 'b');
    const result = await withAtomicFile(path, async (handle) => {
      await handle.write('bytes');
      return 5;
    });
    expect(result).toBe(5);
    expect(await readFile(path, 'utf8')).toBe('bytes');
  });
});
