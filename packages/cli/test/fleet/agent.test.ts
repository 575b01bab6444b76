import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetMonitor } from '@plumbline/core/drift';
import {
  createControlPlaneServer,
  createTokenAuthenticator,
  hashToken,
  type ControlPlaneServer,
} from '@plumbline/ws';
import { startAgent } from '@plumbline/cli';
import { runCli } from '../helpers.js';
import { sealTestArtifact } from './artifacts.js';

let dir: string;
let monitor: FleetMonitor;
let server: ControlPlaneServer;
let hash: string;
const quiet = { write: () => true };

async function until(fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-agent-'));
  hash = await sealTestArtifact(join(dir, 'sealed.plb'), 'routes: v1');
  await writeFile(join(dir, 'node.token'), 'token-a\n');
  monitor = await FleetMonitor.create({ heartbeatIntervalMs: 100 });
  await monitor.setDesired({
    cluster: 'prod',
    artifact_hash: hash as `sha256:${string}`,
    actor: 't',
    reason: 't',
  });
  server = await createControlPlaneServer({
    monitor,
    auth: createTokenAuthenticator({
      nodes: {
        a: { cluster: 'prod', token_sha256: hashToken('token-a') },
      },
    }),
  });
});

afterAll(async () => {
  await server.close();
  await monitor.close();
  await rm(dir, { recursive: true, force: true });
});

const agentFor = (artifact: string, policy: 'warn' | 'enforce' = 'warn') =>
  startAgent({
    artifact,
    controlPlane: server.url,
    nodeId: 'a',
    cluster: 'prod',
    tokenFile: join(dir, 'node.token'),
    heartbeatIntervalMs: 100,
    rehashIntervalMs: 100,
    policy: { mode: policy },
    logOutput: quiet,
  });

describe('plumbline agent', () => {
  it('reports a legacy (unsealed) artifact as no verified hash, then picks up the sealed one', async () => {
    const file = join(dir, 'gateway.bin');
    await writeFile(file, 'plain gateway config without a header');
    const agent = await agentFor(file);
    expect(agent.registry.snapshot().current).toMatchObject({
      kind: 'legacy',
      artifact_hash: null,
    });
    await until(() => monitor.node('a')?.state === 'drift', 'drift for the legacy artifact');
    await writeFile(file, await readFile(join(dir, 'sealed.plb')));
    await until(() => monitor.node('a')?.state === 'in_sync', 'in sync after the sealed artifact');
    await agent.close();
  });

  it('reports a missing file and a tampered artifact under enforce as no hash', async () => {
    const file = join(dir, 'missing.plb');
    const agent = await agentFor(file, 'enforce');
    expect(agent.registry.snapshot().current).toMatchObject({
      artifact_hash: null,
      verification: {
        status: 'unverified',
        reasons: [expect.objectContaining({ code: 'PLB_IO' })],
      },
    });
    const bytes = await readFile(join(dir, 'sealed.plb'));
    await writeFile(file, bytes);
    await agent.check();
    expect(agent.registry.snapshot().artifact_hash).toBe(hash);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(file, bytes);
    await agent.check();
    expect(agent.registry.snapshot().artifact_hash).toBeNull();
    await agent.close();
  });

  it('refuses an admin listener without a token and a bad policy', async () => {
    await expect(
      startAgent({
        artifact: join(dir, 'sealed.plb'),
        controlPlane: server.url,
        nodeId: 'a',
        cluster: 'prod',
        tokenFile: join(dir, 'node.token'),
        adminListen: { port: 0 },
        logOutput: quiet,
      }),
    ).rejects.toMatchObject({ code: 'PLB_USAGE' });
    const cli = await runCli([
      'agent',
      '--artifact',
      'x',
      '--control-plane',
      server.url,
      '--node-id',
      'a',
      '--cluster',
      'prod',
      '--token-file',
      join(dir, 'node.token'),
      '--policy',
      'lenient',
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('PLB_USAGE: --policy must be warn or enforce');
  });
});
