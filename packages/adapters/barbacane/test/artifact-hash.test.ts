import { describe, expect, it } from 'vitest';
import { barbacaneArtifactHash } from '../src/artifact-hash.js';
import { readBca } from '../src/read.js';
import { buildBca, standardFiles, tempDir, v6Manifest } from './fixtures.js';

describe('barbacaneArtifactHash', () => {
  it('recomputes the version 6 hash, written out line by line in the fixture', async () => {
    const dir = await tempDir();
    const bca = await readBca(await buildBca(dir, standardFiles()));
    const result = barbacaneArtifactHash(bca);
    expect(result).toMatchObject({ recomputable: true, version: 6, matches: true });
    if (result.recomputable) expect(result.computed).toBe(result.declared);
  });

  it('recomputes version 5 with the same formula and defaults when mcp and waf are absent', async () => {
    const m = v6Manifest({ barbacane_artifact_version: 5 });
    const full = barbacaneArtifactHash({ manifest: (await readManifest(m)).manifest });
    expect(full).toMatchObject({ recomputable: true, matches: true });
    delete m['mcp'];
    delete m['waf'];
    const defaults = barbacaneArtifactHash({ manifest: (await readManifest(m)).manifest });
    expect(defaults).toMatchObject({ recomputable: true, matches: true });
  });

  it('notices a changed capability, WAF field, checksum or spec hash', async () => {
    const base = v6Manifest();
    const tweaks: Record<string, unknown>[] = [
      { capabilities_enforced: false },
      { waf: { ...(base['waf'] as object), max_response_body: 1 } },
      { waf: { ...(base['waf'] as object), mode: 'detection-only' } },
      { waf: { ...(base['waf'] as object), audit: 'off' } },
      { mcp: { enabled: true, server_name: 'x', server_version: '1' } },
      {
        checksums: {
          ...(base['checksums'] as object),
          'waf/rules.json': `sha256:${'0'.repeat(64)}`,
        },
      },
    ];
    for (const tweak of tweaks) {
      const result = barbacaneArtifactHash({
        manifest: (await readManifest({ ...base, ...tweak })).manifest,
      });
      expect(result).toMatchObject({ recomputable: true, matches: false });
    }
  });

  it('says which versions it cannot recompute and why', async () => {
    const v1 = v6Manifest({ barbacane_artifact_version: 1 });
    delete v1['artifact_hash'];
    const r1 = barbacaneArtifactHash({ manifest: (await readManifest(v1)).manifest });
    expect(r1).toMatchObject({ recomputable: false, version: 1, declared: null });
    if (!r1.recomputable) expect(r1.reason).toContain('no artifact_hash');
    for (const version of [2, 3, 4]) {
      const r = barbacaneArtifactHash({
        manifest: (await readManifest(v6Manifest({ barbacane_artifact_version: version })))
          .manifest,
      });
      expect(r).toMatchObject({ recomputable: false, version });
      if (!r.recomputable) expect(r.reason).toContain('earlier artifact_hash formula');
    }
  });
});

async function readManifest(manifest: Record<string, unknown>) {
  const dir = await tempDir();
  return readBca(await buildBca(dir, standardFiles(manifest)));
}
