/**
 * `npm run example:gateway -w @plumbline/examples`: seals the sample routes, starts a control
 * plane and the example gateway (enforce policy, admin endpoint on loopback, reporting through
 * `@plumbline/ws`), sends one request to each listener, shows the node in sync, and stops.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from '@plumbline/cli';
import { hashAdminToken } from '@plumbline/core/admin';
import { buildManifest, sealArtifactFile } from '@plumbline/core/node';
import { hashToken } from '@plumbline/ws';
import { startGateway } from './gateway.js';

const here = dirname(fileURLToPath(import.meta.url));
const config = join(here, '..', 'fixtures', 'gateway-config');
const work = mkdtempSync(join(tmpdir(), 'plumbline-gateway-example-'));
const adminToken = randomBytes(24).toString('hex');
const nodeToken = randomBytes(24).toString('hex');

try {
  const artifact = join(work, 'gateway.plb');
  const { header } = await sealArtifactFile({
    manifest: await buildManifest([config]),
    provenance: {
      commit: 'ab'.repeat(20),
      source: 'https://github.com/acme/storefront-gateway',
      ref: 'refs/heads/main',
      builder: { id: 'example-compiler', version: '1.0.0' },
    },
    sourceDateEpoch: '1767225600',
    mediaType: 'application/json',
    payload: join(config, 'routes.json'),
    out: artifact,
  });
  console.log(`sealed ${header.artifact_hash}`);

  const cp = await startControlPlane({
    adminToken,
    nodeTokens: { 'gw-1': { cluster: 'prod-eu', token_sha256: hashToken(nodeToken) } },
    store: join(work, 'state.json'),
    heartbeatIntervalMs: 500,
    logOutput: { write: () => true },
  });
  const gateway = await startGateway({
    artifact,
    adminTokens: [{ id: 'operator', sha256: hashAdminToken(adminToken) }],
    controlPlane: { url: cp.wsUrl, nodeId: 'gw-1', cluster: 'prod-eu', token: nodeToken },
  });
  try {
    console.log(`public ${gateway.publicUrl}, admin ${gateway.adminUrl}`);
    const routed = await fetch(`${gateway.publicUrl}/orders/17`);
    console.log(`GET /orders/17 → ${routed.status} ${await routed.text()}`);
    const hidden = await fetch(`${gateway.publicUrl}/_admin/provenance`);
    console.log(`GET /_admin/provenance on the public port → ${hidden.status}`);
    const provenance = await fetch(`${gateway.adminUrl}/_admin/provenance`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const doc = (await provenance.json()) as { verification: { mode: string; status: string } };
    console.log(
      `GET /_admin/provenance on the admin port → ${provenance.status} (${doc.verification.mode}: ${doc.verification.status})`,
    );
    const put = await fetch(`${cp.adminUrl}/v1/clusters/prod-eu/desired`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ artifact_hash: header.artifact_hash, reason: 'example' }),
    });
    if (put.status !== 200) throw new Error(`PUT desired answered ${put.status}`);
    let state: string | undefined;
    for (let i = 0; i < 200 && state !== 'in_sync'; i++) {
      state = cp.monitor.node('gw-1')?.state;
      if (state !== 'in_sync') await new Promise((r) => setTimeout(r, 50));
    }
    console.log(`control plane: gw-1 is ${state}`);
    if (state !== 'in_sync') process.exitCode = 1;
  } finally {
    await gateway.close();
    await cp.close();
  }
  console.log('stopped');
} finally {
  rmSync(work, { recursive: true, force: true });
}
