/**
 * Barbacane's loaders read a `.bca` through `flate2::read::GzDecoder` (barbacane-compiler
 * `src/artifact.rs`, `load_manifest`, `load_routes`, `load_specs`, `load_plugins`, v0.8.1), which
 * decodes the first gzip member only, and its compiler writes one (`GzEncoder`, `finish`). A file
 * of several members shows Barbacane less than it shows a reader that decodes them all, so it is
 * refused rather than read differently.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { releaseBca, releaseTar, sampleInputs } from '@plumbline/testkit/barbacane';
import { loadBcaAsArtifact } from '../src/load.js';
import { readBca } from '../src/read.js';
import { sealBca } from '../src/seal.js';
import { tempDir } from './fixtures.js';

const RELEASE = { artifactVersion: 4, compilerVersion: '0.8.1' } as const;
const corrupt = expect.objectContaining({ code: 'PLB_BCA_CORRUPT' });

/** The tar stream split after its first `blocks` 512-byte blocks into two gzip members. */
const twoMembers = (tar: Buffer, blocks: number): Buffer =>
  Buffer.concat([gzipSync(tar.subarray(0, blocks * 512)), gzipSync(tar.subarray(blocks * 512))]);

describe('a .bca of more than one gzip member', () => {
  it('reads the one-member file the compiler writes', async () => {
    const file = join(await tempDir(), 'one.bca');
    await writeFile(file, releaseBca(RELEASE, sampleInputs()));
    expect((await readBca(file)).checksumsOk).toBe(true);
  });

  it('is refused, wherever the stream is split', async () => {
    const dir = await tempDir();
    const tar = releaseTar(RELEASE, sampleInputs());
    for (const blocks of [2, 4, tar.length / 512 - 2]) {
      const file = join(dir, `split-${blocks}.bca`);
      await writeFile(file, twoMembers(tar, blocks));
      await expect(readBca(file)).rejects.toEqual(corrupt);
    }
  });

  it('is refused when sealed members are moved past the first (no verified seal Barbacane reads differently)', async () => {
    const dir = await tempDir();
    const original = join(dir, 'gateway.bca');
    await writeFile(original, releaseBca(RELEASE, sampleInputs()));
    const { output } = await sealBca(original, { mode: 'embed', sourceDateEpoch: null });
    const tar = gunzipSync(await readFile(output));
    // Barbacane would see the manifest and routes only; the plugins and the header come after.
    const split = join(dir, 'split.sealed.bca');
    await writeFile(split, twoMembers(tar, 4));
    await expect(loadBcaAsArtifact(split)).rejects.toEqual(corrupt);
  });

  it('is refused when the first member is empty (Barbacane would read an empty archive)', async () => {
    const dir = await tempDir();
    const tar = releaseTar(RELEASE, sampleInputs());
    const empty = join(dir, 'empty-first.bca');
    await writeFile(empty, Buffer.concat([gzipSync(Buffer.alloc(0)), gzipSync(tar)]));
    await expect(readBca(empty)).rejects.toEqual(corrupt);
    // Several empty members first, and an empty member between two halves, alike.
    const many = join(dir, 'empty-many.bca');
    const none = gzipSync(Buffer.alloc(0));
    await writeFile(many, Buffer.concat([none, none, gzipSync(tar)]));
    await expect(readBca(many)).rejects.toEqual(corrupt);
    const between = join(dir, 'empty-between.bca');
    await writeFile(
      between,
      Buffer.concat([gzipSync(tar.subarray(0, 1024)), none, gzipSync(tar.subarray(1024))]),
    );
    await expect(readBca(between)).rejects.toEqual(corrupt);
  });

  it('is refused with bytes after the gzip member', async () => {
    const file = join(await tempDir(), 'trailing.bca');
    await writeFile(
      file,
      Buffer.concat([releaseBca(RELEASE, sampleInputs()), Buffer.from('trailing')]),
    );
    await expect(readBca(file)).rejects.toEqual(corrupt);
  });
});
