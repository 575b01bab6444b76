import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HashWorkers } from '../../src/node/hash-workers.js';
import { FILE_HASHED, FILE_RETURNED } from '../../src/node/hash-job.js';
import type { SharedHashJob } from '../../src/node/hash-workers.js';
import { rootFromLeafHashes } from '../../src/merkle/tree.js';
import { leafHash } from '../../src/merkle/hashes.js';
import { sha256, utf8 } from '@plumbline/core/hash';

const dir = mkdtempSync(join(tmpdir(), 'plb-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a worker computed for file `i` of `job`, copied out as the calling thread does. */
function resultOf(
  job: SharedHashJob,
  i: number,
): { size: number; digest: Uint8Array; leaf: Uint8Array } {
  const digest = new Uint8Array(32);
  const leaf = new Uint8Array(32);
  const size = job.copyResult(i, digest, leaf, 0);
  return { size, digest, leaf };
}

/** Leaf hashes one after another in one buffer, as `HashWorkers.root` takes them. */
function flat(leaves: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(leaves.length * 32);
  leaves.forEach((leaf, i) => all.set(leaf, i * 32));
  return all;
}

describe('HashWorkers', () => {
  it('hashes files and their leaves on a worker, claiming from a shared counter', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `d/é${i}.yaml`);
    const paths = names.map((_, i) => join(dir, `f${i}`));
    names.forEach((_, i) => writeFileSync(paths[i]!, `value: ${i}\n`));
    const pool = new HashWorkers(1);
    try {
      const job = pool.start(paths, names);
      // This thread claims some files too; the worker gets the rest.
      const mine = new Set<number>();
      for (;;) {
        const i = job.claim();
        if (i < 300) mine.add(i);
        if (i >= 20) break;
      }
      await job.finished;
      expect(job.progress.files + mine.size).toBe(300);
      for (let i = 0; i < 300; i++) {
        if (mine.has(i)) continue;
        expect(job.status(i)).toBe(FILE_HASHED);
        const content = utf8(`value: ${i}\n`);
        const r = resultOf(job, i);
        expect(r.size).toBe(content.length);
        expect(r.digest).toEqual(sha256(content));
        expect(r.leaf).toEqual(leafHash(new Uint8Array([...sha256(content), ...utf8(names[i]!)])));
      }
    } finally {
      await pool.close();
    }
  });

  it('hashes a file larger than one read whole, on the worker', async () => {
    const big = join(dir, 'big.bin');
    const content = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => (i * 7) & 0xff);
    writeFileSync(big, content);
    const pool = new HashWorkers(1);
    try {
      const job = pool.start([big], ['big.bin']);
      await job.finished;
      expect(job.status(0)).toBe(FILE_HASHED);
      expect(resultOf(job, 0).size).toBe(content.length);
      expect(resultOf(job, 0).digest).toEqual(sha256(content));
      expect(job.progress).toEqual({ files: 1, bytes: content.length });
    } finally {
      await pool.close();
    }
  });

  it('leaves a large file at its next read when stopped, taking back the bytes it counted', async () => {
    // Sparse: 8 GiB of zeros to read, none on disk; far longer to hash than the test waits.
    const huge = join(dir, 'huge.bin');
    writeFileSync(huge, '');
    truncateSync(huge, 8 * 1024 ** 3);
    const pool = new HashWorkers(1);
    try {
      const job = pool.start([huge], ['huge.bin']);
      // Progress counts the file's bytes while it is read, not only once it is done.
      while (job.progress.bytes === 0) await new Promise((r) => setTimeout(r, 5));
      expect(job.status(0)).toBe(0);
      expect(job.progress.files).toBe(0);
      job.stop();
      await job.finished;
      expect(job.status(0)).toBe(FILE_RETURNED);
      expect(job.progress).toEqual({ files: 0, bytes: 0 });
    } finally {
      await pool.close();
    }
  });

  it('hands back files it cannot hash whole, and ends a job when its worker is gone', async () => {
    const missing = join(dir, 'missing');
    const pool = new HashWorkers(1);
    const job = pool.start([missing, dir], ['missing', 'dir']);
    await job.finished;
    expect([job.status(0), job.status(1)]).toEqual([2, 2]);
    const later = pool.start([missing], ['missing']);
    await pool.close();
    // Terminated before or while it ran: the job still settles, its file is left to the caller.
    await later.finished;
    expect(later.status(0)).not.toBe(FILE_HASHED);
    expect(await pool.root(flat([sha256(utf8('x'))]))).toBeUndefined();
  });

  it('computes the same RFC 9162 root as the calling thread', async () => {
    const pool = new HashWorkers(1);
    try {
      expect(await pool.root(flat([]))).toBeUndefined();
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 70 }), async (n) => {
          const leaves = Array.from({ length: n }, (_, i) => sha256(utf8(`leaf ${i}`)));
          expect(await pool.root(flat(leaves))).toEqual(rootFromLeafHashes(leaves));
        }),
        { numRuns: 40 },
      );
    } finally {
      await pool.close();
    }
  });
});
