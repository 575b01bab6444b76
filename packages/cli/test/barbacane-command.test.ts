import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import { fileURLToPath } from 'node:url';
import { computeBarbacaneArtifactHash, parseBarbacaneManifest } from '@plumbline/barbacane';
import { samplePath, tamper } from '@plumbline/testkit/barbacane';
import { runCli } from './helpers.js';

const ROUTES = '{"operations":[]}';
const SPEC = 'openapi: 3.1.0\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function bca(dir: string, routes = ROUTES): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'specs'), { recursive: true });
  await writeFile(
    join(src, 'manifest.json'),
    JSON.stringify({
      barbacane_artifact_version: 1,
      compiled_at: '2026-01-02T03:04:05Z',
      compiler_version: '0.1.0',
      source_specs: [{ file: 'api.yaml', sha256: sha(SPEC), type: 'openapi', version: '3.1.0' }],
      routes_count: 0,
      checksums: { 'routes.json': `sha256:${sha(ROUTES)}` },
    }),
  );
  await writeFile(join(src, 'routes.json'), routes);
  await writeFile(join(src, 'specs/api.yaml'), SPEC);
  const file = join(dir, 'gateway.bca');
  await create({ gzip: true, file, cwd: src, portable: true }, [
    'manifest.json',
    'routes.json',
    'specs/api.yaml',
  ]);
  return file;
}

describe('plumbline barbacane', () => {
  it('checks, seals (sidecar and embedded) and detects a changed artifact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plb-cli-bca-'));
    const file = await bca(dir);
    const unsealed = await runCli(['barbacane', 'check', file, '--json']);
    expect(unsealed.code).toBe(3);
    const report = JSON.parse(unsealed.stdout);
    expect(report.status).toBe('unverified');
    expect(report.barbacane_artifact_hash.recomputable).toBe(false);

    const sealed = await runCli(['barbacane', 'seal', file, '--json'], { env: {} });
    expect(sealed.code).toBe(0);
    expect(JSON.parse(sealed.stdout)).toMatchObject({
      mode: 'sidecar',
      output: `${file}.plumbline`,
    });
    const ok = await runCli(['barbacane', 'check', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/status\s+verified/);

    const embedded = await runCli([
      'barbacane',
      'seal',
      file,
      '--embed',
      '--out',
      join(dir, 'copy.bca'),
    ]);
    expect(embedded.code).toBe(0);
    expect((await runCli(['barbacane', 'check', join(dir, 'copy.bca')])).code).toBe(0);

    // A rebuilt archive with different routes fails its own checksum.
    const dir2 = await mkdtemp(join(tmpdir(), 'plb-cli-bca-'));
    const changed = await bca(dir2, '{"operations":[{}]}');
    const bad = await runCli(['barbacane', 'check', changed]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/routes\.json: checksum mismatch/);

    const usage = await runCli(['barbacane', 'seal', file, '--embed', '--sidecar']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/PLB_USAGE/);
    const corrupt = join(dir, 'corrupt.bca');
    await writeFile(corrupt, 'not an archive');
    const corruptRun = await runCli(['barbacane', 'check', corrupt]);
    expect(corruptRun.code).toBe(2);
    expect(corruptRun.stderr).toMatch(/PLB_BCA_CORRUPT/);
  });

  it('inspect, verify, sbom and oci-labels accept .bca files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plb-cli-bca-'));
    const file = await bca(dir);
    expect((await runCli(['inspect', file])).code).toBe(3);
    expect((await runCli(['verify', file])).code).toBe(3);
    expect((await runCli(['oci-labels', file])).code).toBe(3);
    expect((await runCli(['barbacane', 'seal', file], { env: {} })).code).toBe(0);
    const inspect = await runCli(['inspect', file, '--entries']);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/Barbacane \.bca, plumbline\.header\/v1/);
    expect(inspect.stdout).toMatch(/routes\.json/);
    const verify = await runCli(['verify', file, '--json']);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ status: 'verified', format: 'barbacane' });
    const labels = await runCli(['oci-labels', file, '--json']);
    expect(labels.code).toBe(0);
    expect(labels.stdout).toMatch(/sha256:/);
    const sbom = await runCli(['sbom', file]);
    expect(sbom.code).toBe(0);
    expect(sbom.stdout).toMatch(/specs\/api\.yaml/);
    // A member changed after sealing (rebuilt archive, same sidecar): verify fails, labels refuse.
    const dir2 = await mkdtemp(join(tmpdir(), 'plb-cli-bca-'));
    const changed = await bca(dir2, '{"operations":[{}]}');
    await writeFile(`${changed}.plumbline`, await readFile(`${file}.plumbline`));
    expect((await runCli(['verify', changed])).code).toBe(1);
    const refused = await runCli(['oci-labels', changed]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/PLB_BCA_SEAL_MISMATCH/);
  });

  it('verify and check exit 1 for an embedded seal whose manifest.json was edited and re-hashed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plb-cli-bca-'));
    const file = join(dir, 'gateway.bca');
    await writeFile(file, await readFile(fileURLToPath(samplePath(4))));
    const sealedPath = join(dir, 'gateway.sealed.bca');
    expect((await runCli(['barbacane', 'seal', file, '--embed', '--out', sealedPath])).code).toBe(
      0,
    );
    expect((await runCli(['verify', sealedPath])).code).toBe(0);
    const tampered = await tamper(
      sealedPath,
      (m) => (m['capabilities_enforced'] = false),
      (m) =>
        computeBarbacaneArtifactHash(
          parseBarbacaneManifest(new TextEncoder().encode(JSON.stringify(m))),
        ),
    );
    const verify = await runCli(['verify', tampered]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/manifest\.json: sealed sha256:[0-9a-f]{64}, now sha256:/);
    expect((await runCli(['barbacane', 'check', tampered])).code).toBe(1);
  });

  it('hashes an API key read on standard input', async () => {
    const result = await runCli(['barbacane', 'hash-key'], { stdin: 'secret-key\n' });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(sha('secret-key'));
    expect((await runCli(['barbacane', 'hash-key'], { stdin: '\n' })).code).toBe(2);
  });
});
