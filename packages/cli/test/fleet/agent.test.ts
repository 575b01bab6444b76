import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { sealArtifact } from '@plumbline/core/container';
import { FleetMonitor, type FleetEvent } from '@plumbline/core/drift';
import { formatDigest, sha256, type DigestString } from '@plumbline/core/hash';
import {
  createControlPlaneServer,
  createTokenAuthenticator,
  hashToken,
  type ControlPlaneServer,
} from '@plumbline/ws';
import { startAgent } from '@plumbline/cli';
import { runCli, until } from '../helpers.js';
import { sealTestArtifact } from './artifacts.js';

let dir: string;
let monitor: FleetMonitor;
let server: ControlPlaneServer;
let hash: string;
const quiet = { write: () => true };

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

/** Seals an artifact of `config` built from `commit` and returns its artifact_hash. */
async function sealAt(path: string, config: string, commit: string): Promise<DigestString> {
  const input = new TextEncoder().encode(config);
  const result = await sealArtifact(
    {
      manifest: {
        entries: [
          { path: 'gateway.yaml', size: input.length, digest: formatDigest(sha256(input)) },
        ],
      },
      provenance: {
        commit,
        source: 'github.com/example/gateway-config',
        ref: 'refs/heads/main',
        builder: { id: 'test', version: '1.0.0' },
      },
      sourceDateEpoch: null,
      payload: new TextEncoder().encode(`compiled:${config}`),
    },
    Writable.toWeb(createWriteStream(path)) as WritableStream<Uint8Array>,
  );
  return result.header.artifact_hash;
}

describe('plumbline agent', () => {
  it('reports the new provenance with the new hash when the artifact moves to another version', async () => {
    const v1Commit = '1'.repeat(40);
    const v2Commit = '2'.repeat(40);
    const v1 = await sealAt(join(dir, 'v1.plb'), 'routes: one', v1Commit);
    const v2 = await sealAt(join(dir, 'v2.plb'), 'routes: two', v2Commit);
    const own = await FleetMonitor.create({ heartbeatIntervalMs: 100 });
    const cp = await createControlPlaneServer({
      monitor: own,
      auth: createTokenAuthenticator({
        nodes: { r: { cluster: 'lab', token_sha256: hashToken('token-r') } },
      }),
    });
    await writeFile(join(dir, 'r.token'), 'token-r\n');
    // Every event is a moment the fleet is observed: the node's reported hash and provenance
    // must always belong to the same artifact.
    const seen: { type: string; hash: string | null; commit: string | undefined }[] = [];
    own.onAny((event: FleetEvent) => {
      const node = own.node('r');
      seen.push({
        type: event.type,
        hash: node?.reported_hash ?? null,
        commit: node?.provenance?.commit,
      });
    });
    const file = join(dir, 'moving.plb');
    await writeFile(file, await readFile(join(dir, 'v1.plb')));
    await own.setDesired({ cluster: 'lab', artifact_hash: v1, actor: 't', reason: 'v1' });
    const agent = await startAgent({
      artifact: file,
      controlPlane: cp.url,
      nodeId: 'r',
      cluster: 'lab',
      tokenFile: join(dir, 'r.token'),
      heartbeatIntervalMs: 100,
      rehashIntervalMs: 60_000,
      logOutput: quiet,
    });
    try {
      await until(() => own.node('r')?.state === 'in_sync', 'in sync on v1');
      expect(own.node('r')?.provenance?.commit).toBe(v1Commit);
      const firstInstance = own.node('r')?.instance_id;

      await own.setDesired({
        cluster: 'lab',
        artifact_hash: v2,
        actor: 't',
        reason: 'v2',
        rollout: { graceMs: 60_000 },
      });
      await until(() => own.node('r')?.state === 'pending', 'pending on v2');
      await writeFile(file, await readFile(join(dir, 'v2.plb')));
      await agent.check();
      await until(() => own.node('r')?.state === 'in_sync', 'in sync on v2');
      expect(own.node('r')).toMatchObject({
        reported_hash: v2,
        provenance: { commit: v2Commit },
        connected: true,
      });
      expect(own.node('r')?.instance_id).not.toBe(firstInstance);
      // The handover is not seen as the node going away, and the new hash never shows the old commit.
      expect(seen.map((e) => e.type)).not.toContain('node.disconnected');
      for (const e of seen) {
        if (e.hash === v1) expect(e.commit).toBe(v1Commit);
        if (e.hash === v2) expect(e.commit).toBe(v2Commit);
      }
      // The older session is closed: only one session is open on the control plane.
      await until(() => cp.stats().sessionsOpen === 1, 'one open session');
      expect(cp.stats().sessionsOpened).toBe(2);
    } finally {
      await agent.close();
      await cp.close();
      await own.close();
    }
  });

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
