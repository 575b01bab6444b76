import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  SAMPLE_RELEASES,
  releaseBca,
  tarMember,
  releaseTar,
  sampleInputs,
  samplePath,
} from '@plumbline/testkit/barbacane';
import { barbacaneArtifactHash } from '../src/artifact-hash.js';
import { readBca } from '../src/read.js';
import { hex, tempDir } from './fixtures.js';

// The committed samples are written by make-bca.ts the way each release's compiler writes them
// (barbacane-compiler src/artifact.rs at the tag it names), with the artifact_hash written out
// line by line there, independently of src/artifact-hash.ts.
describe('the sample .bca of every artifact version', () => {
  it('is what make-bca.ts writes (the tar stream, byte for byte)', () => {
    for (const release of SAMPLE_RELEASES) {
      const committed = gunzipSync(readFileSync(samplePath(release.artifactVersion)));
      expect(committed.equals(releaseTar(release, sampleInputs()))).toBe(true);
    }
  });

  it.each(SAMPLE_RELEASES.filter((r) => r.artifactVersion >= 2))(
    'recomputes the artifact_hash of version $artifactVersion (Barbacane $compilerVersion)',
    async ({ artifactVersion }) => {
      const bca = await readBca(fileURLToPath(samplePath(artifactVersion)));
      expect(bca.checksumsOk).toBe(true);
      const result = barbacaneArtifactHash(bca);
      expect(result).toMatchObject({ recomputable: true, version: artifactVersion, matches: true });
      if (result.recomputable) expect(result.computed).toBe(bca.manifest.artifact_hash);
    },
  );

  // Two specs named api.yaml in different folders: the compiler records both in source_specs
  // (file = base name, parse_spec_file at v0.8.1) and writes two specs/api.yaml members;
  // load_specs (a HashMap insert) keeps the last.
  it('reads two specs of one file name as Barbacane does: paired in order, the last one served', async () => {
    const inputs = {
      ...sampleInputs(),
      specs: [
        { file: 'api.yaml', content: 'openapi: 3.1.0\n# first\n' },
        { file: 'api.yaml', content: 'openapi: 3.1.0\n# second\n' },
      ],
    };
    const dir = await tempDir();
    const file = join(dir, 'dup.bca');
    const release = { artifactVersion: 4, compilerVersion: '0.8.1' } as const;
    await writeFile(file, releaseBca(release, inputs));
    const bca = await readBca(file);
    expect(bca.checksumsOk).toBe(true);
    expect(barbacaneArtifactHash(bca)).toMatchObject({ recomputable: true, matches: true });
    const served = bca.inputs.entries.find((e) => e.path === 'specs/api.yaml');
    expect(served?.digest).toBe(`sha256:${hex('openapi: 3.1.0\n# second\n')}`);
    // A third specs/api.yaml that no source spec lists would be the one served: refused.
    const tar = releaseTar(release, inputs);
    const extra = Buffer.concat([
      tar.subarray(0, tar.length - 1024),
      tarMember('specs/api.yaml', Buffer.from('evil')),
      Buffer.alloc(1024),
    ]);
    await writeFile(file, gzipSync(extra));
    await expect(readBca(file)).rejects.toMatchObject({ code: 'PLB_BCA_DUPLICATE_ENTRY' });
  });

  it('reads version 1 (Barbacane 0.1.0 to 0.2.1), which has no artifact_hash', async () => {
    const bca = await readBca(fileURLToPath(samplePath(1)));
    expect(bca.checksumsOk).toBe(true);
    expect(barbacaneArtifactHash(bca)).toMatchObject({ recomputable: false, declared: null });
  });
});
