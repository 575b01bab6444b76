import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readHeader, verifyArtifact } from '@plumbline/core/node';
import { parseStatement } from '@plumbline/core/attest';
import { SIGSTORE_BUNDLE_ATTACHMENT } from '@plumbline/core/signer';

const examples = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = mkdtempSync(join(tmpdir(), 'plumbline-examples-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs one example the way its npm script does and resolves with its exit code and output. */
function runExample(
  script: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@plumbline/source', '--import', 'tsx', script, ...args],
    { cwd: examples, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('examples', () => {
  it('build-pipeline writes every output into out/ and verifies it again', async () => {
    const dir = join(out, 'pipeline');
    const result = await runExample('build-pipeline/pipeline.ts', ['--out', dir]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^ {3}ok /gm)).toHaveLength(5);
    expect(readdirSync(dir).sort()).toEqual([
      'Dockerfile.labels',
      'gateway.cdx.json',
      'gateway.intoto.json',
      'gateway.plb',
      'gateway.plb.sigstore.json',
      'labels.json',
      'manifest.json',
      'signing.key.pem',
      'signing.pub.pem',
    ]);
    const artifact = join(dir, 'gateway.plb');
    const info = await readHeader(artifact, { artifactDigest: true });
    const statement = parseStatement(readFileSync(join(dir, 'gateway.intoto.json')));
    expect(statement.subject[0]?.digest?.['sha256']).toBe(info.artifactDigest?.slice(7));
    const verified = await verifyArtifact(artifact);
    expect(verified.status).toBe('verified');
    expect(Object.keys(verified.attachments ?? {})).toContain(SIGSTORE_BUNDLE_ATTACHMENT);
    const labels = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(labels['dev.plumbline.artifact.hash']).toBe(info.header.artifact_hash);
  }, 60_000);

  it('sidecar: the agent beside a file-only gateway reports in_sync, drift, in_sync', async () => {
    const result = await runExample('sidecar/main.ts');
    expect(result.code).toBe(0);
    const states = [...result.stdout.matchAll(/edge-7 is (\w+)/g)].map((m) => m[1]);
    expect(states).toEqual(['in_sync', 'drift', 'in_sync']);
    expect(result.stdout).toContain('agent stopped (exit 0)');
    expect(result.stderr).toContain('PLB_VERIFY_PAYLOAD_MISMATCH');
  }, 60_000);

  it('caddy: a real Caddy is in_sync, drift on an admin-API change (naming the path), probe_failing when down, in_sync again', async () => {
    const result = await runExample('caddy/main.ts');
    expect(result.code).toBe(0);
    const states = [...result.stdout.matchAll(/edge-1 is (\w+)/g)].map((m) => m[1]);
    expect(states).toEqual(['in_sync', 'drift', 'probe_failing', 'in_sync']);
    expect(result.stdout).toContain(
      'ALERT drift.detected: live config differs at /apps/http/servers/main/routes/0/handle/0/body',
    );
    expect(result.stdout).toContain('ALERT node.probe_failing: PLB_PROBE_UNREACHABLE');
  }, 60_000);

  it('gateway: routes on the public port, provenance on the admin port, in sync', async () => {
    const result = await runExample('gateway/run-example.ts');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'GET /orders/17 → 200 {"upstream":"orders","path":"/orders/17"}',
    );
    expect(result.stdout).toContain('GET /_admin/provenance on the public port → 404');
    expect(result.stdout).toContain('on the admin port → 200 (enforce: verified)');
    expect(result.stdout).toContain('control plane: gw-1 is in_sync');
  }, 60_000);
});
