import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';
import { writeSealedArtifact } from './supply-chain-fixtures.js';

let work: string;
let artifact: string;
let sealed: Awaited<ReturnType<typeof writeSealedArtifact>>;
let layout: string;

function umoci(args: string[]): void {
  execFileSync('umoci', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A real image made with umoci holding the artifact and carrying the labels the CLI prints. */
async function buildImage(
  dir: string,
  labels: Record<string, string>,
  content: Buffer,
): Promise<string> {
  const image = join(dir, 'image');
  const bundle = join(dir, 'bundle');
  await mkdir(dir, { recursive: true });
  umoci(['init', '--layout', image]);
  umoci(['new', '--image', `${image}:1.4`]);
  umoci([
    'unpack',
    ...(process.getuid?.() === 0 ? [] : ['--rootless']),
    '--image',
    `${image}:1.4`,
    bundle,
  ]);
  const file = join(bundle, 'rootfs', 'etc', 'gateway', 'gateway.plb');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  umoci(['repack', '--image', `${image}:1.4`, bundle]);
  umoci([
    'config',
    '--image',
    `${image}:1.4`,
    ...Object.entries(labels).flatMap(([k, v]) => ['--config.label', `${k}=${v}`]),
  ]);
  await rm(bundle, { recursive: true, force: true });
  return image;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plb-cli-supply-'));
  artifact = join(work, 'gateway.plb');
  sealed = await writeSealedArtifact(artifact);
  const labels = JSON.parse((await runCli(['oci-labels', artifact, '--format', 'json'])).stdout);
  layout = await buildImage(join(work, 'good'), labels, sealed.bytes);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('plumbline oci-labels', () => {
  it('prints the labels in every format', async () => {
    const json = await runCli(['oci-labels', artifact, '--json']);
    expect(json.code).toBe(0);
    const labels = JSON.parse(json.stdout);
    expect(labels['dev.plumbline.artifact.hash']).toBe(sealed.header.artifact_hash);
    expect(labels['dev.plumbline.header.digest']).toBe(sealed.headerDigest);
    expect(labels['org.opencontainers.image.revision']).toBe(
      '0123456789abcdef0123456789abcdef01234567',
    );
    const args = await runCli(['oci-labels', artifact]);
    expect(args.stdout).toMatch(
      /^--label 'dev\.plumbline\.artifact\.hash=sha256:[0-9a-f]{64}' --label /,
    );
    expect((await runCli(['oci-labels', artifact, '--format', 'dockerfile'])).stdout).toMatch(
      /^LABEL "dev\.plumbline/,
    );
    const env = (await runCli(['oci-labels', artifact, '--format', 'env'])).stdout;
    expect(env.split('\n')).toContain(`dev.plumbline.artifact.hash=${sealed.header.artifact_hash}`);
  });

  it('exits 2 on a bad format or missing file and 3 on a legacy artifact', async () => {
    const bad = await runCli(['oci-labels', artifact, '--format', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^plumbline: PLB_USAGE: /);
    expect((await runCli(['oci-labels', join(work, 'nope.plb')])).code).toBe(2);
    const legacy = join(work, 'legacy.bin');
    await writeFile(legacy, 'just some bytes without the magic');
    const result = await runCli(['oci-labels', legacy]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('PLB_LEGACY_ARTIFACT');
    expect(result.stdout).toBe('');
  });
});

describe('plumbline verify-image', () => {
  it('verifies a matching image (exit 0), text and JSON', async () => {
    const text = await runCli([
      'verify-image',
      `${layout}:1.4`,
      '--artifact',
      artifact,
      '--path-in-image',
      '/etc/gateway/gateway.plb',
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('ok   file /etc/gateway/gateway.plb');
    expect(text.stdout).toContain('verified: 1 layers');
    const json = await runCli([
      'verify-image',
      layout,
      '--artifact',
      artifact,
      '--path-in-image',
      'etc/gateway/gateway.plb',
      '--json',
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      refName: '1.4',
      file: { status: 'match' },
    });
  });

  it('exits 1 for wrong labels, a different file and a tampered layer', async () => {
    const wrong = await buildImage(
      join(work, 'wrong'),
      { 'dev.plumbline.artifact.hash': `sha256:${'0'.repeat(64)}` },
      Buffer.from('other'),
    );
    const result = await runCli([
      'verify-image',
      wrong,
      '--artifact',
      artifact,
      '--path-in-image',
      '/etc/gateway/gateway.plb',
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).problems.map((p: { code: string }) => p.code)).toEqual([
      'PLB_OCI_LABEL_MISMATCH',
      'PLB_OCI_FILE_MISMATCH',
    ]);
    const tampered = join(work, 'tampered');
    await cp(layout, tampered, { recursive: true });
    const blobs = join(tampered, 'blobs', 'sha256');
    for (const name of await readdir(blobs)) {
      const bytes = await readFile(join(blobs, name));
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
        bytes[bytes.length - 10]! ^= 1;
        await writeFile(join(blobs, name), bytes);
      }
    }
    const t = await runCli(['verify-image', tampered, '--artifact', artifact]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/^plumbline: PLB_OCI_DIGEST_MISMATCH: /);
  });

  it('exits 2 for a missing blob, a missing index or an unknown ref, and 3 for a legacy artifact', async () => {
    const broken = join(work, 'broken');
    await cp(layout, broken, { recursive: true });
    await rm(join(broken, 'index.json'));
    const r = await runCli(['verify-image', broken, '--artifact', artifact]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^plumbline: PLB_OCI_INDEX_MISSING: /);
    expect(
      (await runCli(['verify-image', `${layout}:nope`, '--artifact', artifact])).stderr,
    ).toContain('PLB_OCI_REF_NOT_FOUND');
    const missing = join(work, 'missing-blob');
    await cp(layout, missing, { recursive: true });
    const blobs = join(missing, 'blobs', 'sha256');
    for (const name of await readdir(blobs)) {
      const bytes = await readFile(join(blobs, name));
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) await rm(join(blobs, name));
    }
    const m = await runCli(['verify-image', missing, '--artifact', artifact]);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('PLB_OCI_BLOB_MISSING');
    const legacy = join(work, 'legacy2.bin');
    await writeFile(legacy, 'no magic');
    expect((await runCli(['verify-image', layout, '--artifact', legacy])).code).toBe(3);
    expect((await runCli(['verify-image', layout])).code).toBe(2);
  });
});

describe('plumbline sbom', () => {
  it('prints a deterministic, valid CycloneDX 1.6 JSON SBOM', async () => {
    const first = await runCli(['sbom', artifact]);
    expect(first.code).toBe(0);
    const second = await runCli(['sbom', artifact]);
    expect(second.stdout).toBe(first.stdout);
    const bom = JSON.parse(first.stdout);
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.timestamp).toBe('2026-01-02T03:04:05Z');
    expect(bom.metadata.component).toMatchObject({ name: 'gateway.plb', type: 'file' });
    expect(bom.metadata.component.hashes[0].content).toBe(
      (await import('node:crypto')).createHash('sha256').update(sealed.bytes).digest('hex'),
    );
    expect(bom.components).toHaveLength(3);
  });

  it('writes XML and other spec versions atomically to --out', async () => {
    const out = join(work, 'out', 'gateway.cdx.xml');
    await mkdir(dirname(out), { recursive: true });
    const result = await runCli([
      'sbom',
      artifact,
      '--format',
      'xml',
      '--spec-version',
      '1.7',
      '--out',
      out,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('wrote');
    expect(await readFile(out, 'utf8')).toContain('xmlns="http://cyclonedx.org/schema/bom/1.7"');
    expect(await readdir(dirname(out))).toEqual(['gateway.cdx.xml']);
    expect((await runCli(['sbom', artifact, '--spec-version', '1.5'])).stdout).toContain(
      '"specVersion": "1.5"',
    );
  });

  it('merges into an image SBOM and refuses bad ones without writing', async () => {
    const image = join(work, 'image.cdx.json');
    await writeFile(
      image,
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.5',
        version: 1,
        metadata: { component: { 'bom-ref': 'img', type: 'container', name: 'gateway' } },
        components: [],
      }),
    );
    const merged = await runCli(['sbom', artifact, '--merge-into', image, '--out', image]);
    expect(merged.code).toBe(0);
    const bom = JSON.parse(await readFile(image, 'utf8'));
    expect(bom.version).toBe(2);
    expect(bom.components).toHaveLength(4);
    expect(bom.dependencies.find((d: { ref: string }) => d.ref === 'img').dependsOn).toHaveLength(
      1,
    );
    const again = await runCli(['sbom', artifact, '--merge-into', image]);
    expect(JSON.parse(again.stdout)).toEqual(bom);

    const before = await readFile(image, 'utf8');
    const mismatch = await runCli([
      'sbom',
      artifact,
      '--merge-into',
      image,
      '--spec-version',
      '1.6',
      '--out',
      image,
    ]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/^plumbline: PLB_SBOM_SPEC_MISMATCH: /);
    expect(await readFile(image, 'utf8')).toBe(before);
    const invalid = join(work, 'invalid.cdx.json');
    await writeFile(
      invalid,
      '{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"nope"}]}',
    );
    const bad = await runCli(['sbom', artifact, '--merge-into', invalid, '--out', invalid]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('PLB_SBOM_INVALID');
    expect((await runCli(['sbom', artifact, '--merge-into', image, '--format', 'xml'])).code).toBe(
      2,
    );
    expect((await runCli(['sbom', artifact, '--spec-version', '1.2'])).stderr).toContain(
      'PLB_SBOM_SPEC_VERSION',
    );
    expect((await runCli(['sbom', artifact, '--format', 'yaml'])).stderr).toContain(
      'PLB_SBOM_FORMAT',
    );
    const legacy = join(work, 'legacy3.bin');
    await writeFile(legacy, 'no magic');
    expect((await runCli(['sbom', legacy])).code).toBe(3);
  });
});

describe('plumbline verify-image decompression budget', () => {
  it('takes the budget from flags: over it is PLB_OCI_LIMIT (exit 2), a bad value PLB_USAGE', async () => {
    const args = [
      'verify-image',
      layout,
      '--artifact',
      artifact,
      '--path-in-image',
      'etc/gateway/gateway.plb',
    ];
    const over = await runCli([...args, '--max-decompressed-bytes', '1KiB']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(
      /^plumbline: PLB_OCI_LIMIT: the image's layers decompress to more than 1024 bytes/m,
    );
    const within = await runCli([
      ...args,
      '--max-decompressed-bytes',
      '64MiB',
      '--max-decompression-ratio',
      '4096',
    ]);
    expect(within.code).toBe(0);
    const bad = await runCli([...args, '--max-decompression-ratio', '2MiB']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('PLB_USAGE');
  });
});
