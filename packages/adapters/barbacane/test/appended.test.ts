/**
 * Members appended after the embedded header: the tar stream the header binds ends before it, so
 * what comes after is judged by the recomputed inputs (every member a Barbacane loader reads,
 * barbacane-compiler `src/artifact.rs`: `load_specs`, `load_plugins`, and `load_waf_rules` on main).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { releaseBca, sampleInputs, tarMember } from '@plumbline/testkit/barbacane';
import { loadBcaAsArtifact } from '../src/load.js';
import { sealBca } from '../src/seal.js';
import { tempDir } from './fixtures.js';

async function sealed(version: 4 | 6): Promise<{ dir: string; file: string }> {
  const dir = await tempDir();
  const original = join(dir, 'gateway.bca');
  await writeFile(
    original,
    releaseBca({ artifactVersion: version, compilerVersion: '0.8.1' }, sampleInputs()),
  );
  const { output } = await sealBca(original, { mode: 'embed', sourceDateEpoch: null });
  return { dir, file: output };
}

async function append(dir: string, file: string, path: string, data: string): Promise<string> {
  const tar = gunzipSync(await readFile(file));
  const out = join(dir, `appended-${path.replaceAll('/', '_')}.bca`);
  await writeFile(
    out,
    gzipSync(
      Buffer.concat([
        tar.subarray(0, tar.length - 1024),
        tarMember(path, Buffer.from(data)),
        Buffer.alloc(1024),
      ]),
    ),
  );
  return out;
}

describe('a member appended after the embedded header', () => {
  it.each([
    [6, 'waf/data/evil.data'],
    [6, 'waf/rules.json'],
    [4, 'specs/evil.yaml'],
  ] as const)('of a version %s artifact (%s) does not verify', async (version, path) => {
    const { dir, file } = await sealed(version);
    expect(await loadBcaAsArtifact(file)).toMatchObject({ status: 'verified' });
    const tampered = await append(dir, file, path, 'SecRuleEngine Off\n');
    const result = await loadBcaAsArtifact(tampered).catch((e: { code: string }) => e.code);
    if (typeof result === 'string') expect(result).toMatch(/^PLB_BCA_/);
    else expect(result.status).toBe('mismatch');
  });
});
