import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  SAMPLE_RELEASES,
  releaseTar,
  sampleInputs,
  samplePath,
} from '../../../examples/fixtures/barbacane/make-bca.js';
import { barbacaneArtifactHash } from '../src/artifact-hash.js';
import { readBca } from '../src/read.js';

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

  it('reads version 1 (Barbacane 0.1.0 to 0.2.1), which has no artifact_hash', async () => {
    const bca = await readBca(fileURLToPath(samplePath(1)));
    expect(bca.checksumsOk).toBe(true);
    expect(barbacaneArtifactHash(bca)).toMatchObject({ recomputable: false, declared: null });
  });
});
