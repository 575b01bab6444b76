import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAdminToken } from '@plumbline/core/admin';
import { sealArtifact } from '@plumbline/core/container';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { startGateway, type Gateway } from '../gateway/gateway.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const TOKEN = 'example-gateway-admin-token';
const ROUTES = utf8(
  JSON.stringify({
    routes: [
      { match: { prefix: '/users' }, upstream: 'users' },
      { match: { prefix: '/orders', methods: ['GET', 'POST'] }, upstream: 'orders' },
    ],
  }),
);

async function sealTo(path: string, payload: Uint8Array): Promise<void> {
  const chunks: Uint8Array[] = [];
  await sealArtifact(
    {
      payload,
      mediaType: 'application/json',
      manifest: {
        entries: [
          { path: 'routes.json', size: payload.length, digest: formatDigest(sha256(payload)) },
        ],
      },
      provenance: {
        commit: 'd'.repeat(40),
        source: 'github.com/acme/gateway-config',
        ref: 'refs/heads/main',
        builder: { id: 'example-compiler', version: '0.1.0' },
      },
      sourceDateEpoch: null,
    },
    new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
  );
  writeFileSync(path, Buffer.concat(chunks));
}

const dir = mkdtempSync(join(tmpdir(), 'plumbline-gateway-'));
const good = join(dir, 'gateway.plb');
const tampered = join(dir, 'tampered.plb');
const tokenFile = join(dir, 'admin.token');

beforeAll(async () => {
  await sealTo(good, ROUTES);
  const bytes = Buffer.from(await import('node:fs/promises').then((fs) => fs.readFile(good)));
  const at = bytes.indexOf('"users"', bytes.length - ROUTES.length);
  bytes.write('"admin"', at);
  writeFileSync(tampered, bytes);
  writeFileSync(tokenFile, `${TOKEN}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('example gateway', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway({
      artifact: good,
      adminTokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }],
    });
  });
  afterAll(() => gateway.close());

  it('serves its routes on the public port and never the admin endpoint there', async () => {
    const routed = await fetch(`${gateway.publicUrl}/users/42`);
    expect(await routed.json()).toEqual({ upstream: 'users', path: '/users/42' });
    const admin = await fetch(`${gateway.publicUrl}/_admin/provenance`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(admin.status).toBe(404);
  });

  it('serves the provenance of the verified artifact on the loopback admin port', async () => {
    expect(new URL(gateway.adminUrl).hostname).toBe('127.0.0.1');
    expect(gateway.adminUrl).not.toBe(gateway.publicUrl);
    const response = await fetch(`${gateway.adminUrl}/_admin/provenance`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      artifact_hash: gateway.loaded.artifact_hash,
      commit: 'd'.repeat(40),
      verification: { mode: 'enforce', status: 'verified' },
    });
    expect(response.headers.get('etag')).toBe(`"${gateway.loaded.artifact_hash}"`);
    expect((await fetch(`${gateway.adminUrl}/_admin/provenance`)).status).toBe(401);
  });

  it('refuses to start on a tampered artifact', async () => {
    await expect(
      startGateway({
        artifact: tampered,
        adminTokens: [{ id: 'ops', sha256: hashAdminToken(TOKEN) }],
      }),
    ).rejects.toMatchObject({ code: 'PLB_LOAD_REJECTED' });
  });

  it('runs as a process: listens on a good artifact, exits 1 on a tampered one', async () => {
    const run = (artifact: string) =>
      spawn(
        process.execPath,
        [
          '--conditions=@plumbline/source',
          '--import',
          'tsx',
          join(repo, 'packages/examples/gateway/main.ts'),
          '--artifact',
          artifact,
          '--admin-token-file',
          tokenFile,
        ],
        { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
      );
    const refused = run(tampered);
    let stderr = '';
    refused.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => refused.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^gateway: PLB_LOAD_REJECTED: .*payload/);

    const child = run(good);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('close', () => reject(new Error('gateway exited early')));
    });
    const listening = JSON.parse(line) as {
      event: string;
      public: string;
      admin: string;
      artifact_hash: string;
    };
    expect(listening.event).toBe('listening');
    const response = await fetch(`${listening.admin}/_admin/provenance`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(((await response.json()) as { artifact_hash: string }).artifact_hash).toBe(
      listening.artifact_hash,
    );
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.on('exit', (c) => resolve(c)))).toBe(0);
  });
});
