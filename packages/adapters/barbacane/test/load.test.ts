import { describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readArtifactHeader } from '../src/load.js';
import { sealBca } from '../src/seal.js';
import { buildBca, hex, standardFiles, tempDir } from './fixtures.js';

describe('readArtifactHeader', () => {
  it('returns the header of a sealed .bca in the shape of readHeader', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    const { header, encoded } = await sealBca(file, { mode: 'sidecar', sourceDateEpoch: null });
    const info = await readArtifactHeader(file);
    expect(info.header).toEqual(header);
    expect(info.headerBytes).toEqual(encoded);
    expect(info.headerDigest).toBe(`sha256:${hex(encoded)}`);
    expect(info.artifactDigest).toBe(`sha256:${hex(await readFile(file))}`);
    expect(info.containerVersion).toBe(0);
  });

  it('treats an unsealed .bca like a legacy artifact and refuses a mismatching one', async () => {
    const dir = await tempDir();
    const file = await buildBca(dir, standardFiles());
    await expect(readArtifactHeader(file)).rejects.toMatchObject({ code: 'PLB_LEGACY_ARTIFACT' });
    const files = standardFiles();
    files['routes.json'] = '{}';
    const bad = await buildBca(dir, files, 'bad.bca');
    await expect(readArtifactHeader(bad)).rejects.toMatchObject({ code: 'PLB_BCA_SEAL_MISMATCH' });
  });

  it('falls through to core for files that are not .bca', async () => {
    const dir = await tempDir();
    const plain = join(dir, 'legacy.bin');
    await writeFile(plain, 'legacy bytes');
    await expect(readArtifactHeader(plain)).rejects.toMatchObject({ code: 'PLB_LEGACY_ARTIFACT' });
  });
});
