import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { hashToken } from '@plumbline/ws';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';
import { runCli, spawnCli, until } from '../helpers.js';
import { sealTestArtifact } from './artifacts.js';

interface NodeDoc {
  node_id: string;
  state: string;
  reported_hash: string | null;
  last_load_error: unknown;
  verification_reasons: { rule: string; code: string; message: string }[] | null;
}

// `plumbline agent --policy warn` tolerates an artifact that fails verification (the gateway keeps
// running it) but does not vouch for its hash; the reasons it saw reach the control plane (drift
// protocol v1.1 `verification_reasons`) and `plumbline fleet` says why.
describe('verification reasons an agent tolerated under --policy warn', () => {
  let dir: string;
  let cp: RunningControlPlane;
  let agent: ChildProcess | undefined;
  let hash: string;
  const env: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-why-'));
    hash = await sealTestArtifact(join(dir, 'gw-1.plb'), 'routes: v1');
    await writeFile(join(dir, 'gw-1.token'), 'token-gw-1\n');
    await writeFile(
      join(dir, 'node-tokens.json'),
      JSON.stringify({ 'gw-1': { cluster: 'prod', token_sha256: hashToken('token-gw-1') } }),
    );
    await writeFile(join(dir, 'admin.token'), 'admin-secret\n');
    cp = await startControlPlane({
      nodeTokens: join(dir, 'node-tokens.json'),
      adminToken: 'admin-secret',
      store: join(dir, 'state.json'),
      heartbeatIntervalMs: 200,
      logOutput: { write: () => true },
    });
    env['PLUMBLINE_ADMIN_URL'] = cp.adminUrl;
    env['PLUMBLINE_ADMIN_TOKEN_FILE'] = join(dir, 'admin.token');
  });

  afterAll(async () => {
    agent?.kill('SIGKILL');
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  });

  const node = async (): Promise<NodeDoc> => {
    const res = await fetch(`${cp.adminUrl}/v1/fleet/nodes/gw-1`, {
      headers: { authorization: 'Bearer admin-secret' },
    });
    return (await res.json()) as NodeDoc;
  };

  it('shows them in the fleet API, `fleet` WHY and `fleet node`; a verified artifact clears them', async () => {
    const set = await runCli(
      ['fleet', 'set-desired', '--cluster', 'prod', '--artifact-hash', hash, '--reason', 'r'],
      { env },
    );
    expect(set.code, set.stderr).toBe(0);
    // The compiled payload is edited after sealing: the header still claims `hash`.
    const file = join(dir, 'gw-1.plb');
    const sealed = await readFile(file);
    const tampered = Buffer.from(sealed);
    const at = tampered.indexOf('compiled:routes: v1');
    expect(at).toBeGreaterThan(0);
    tampered.write('compiled:routes: v9', at);
    await writeFile(file, tampered);

    agent = spawnCli([
      'agent',
      '--artifact',
      file,
      '--control-plane',
      cp.wsUrl,
      '--node-id',
      'gw-1',
      '--cluster',
      'prod',
      '--token-file',
      join(dir, 'gw-1.token'),
      '--policy',
      'warn',
      '--heartbeat-interval',
      '200ms',
      '--rehash-interval',
      '100ms',
    ]);
    const reported = await until(
      async () => {
        const doc = await node();
        return doc.verification_reasons ? doc : false;
      },
      'the verification reasons at the control plane',
      15_000,
    );
    // The node does not vouch for the hash its header claims (it runs other bytes: drift), and
    // says why; it did not refuse a load.
    expect(reported.reported_hash).toBeNull();
    expect(reported.state).toBe('drift');
    expect(reported.last_load_error).toBeNull();
    expect(reported.verification_reasons).toEqual([
      { rule: 'payload', code: 'PLB_VERIFY_PAYLOAD_MISMATCH', message: expect.any(String) },
    ]);
    const { code, message } = reported.verification_reasons![0]!;

    const table = await runCli(['fleet'], { env });
    expect(table.code).toBe(0);
    const row = table.stdout.split('\n').find((l) => l.startsWith('gw-1'))!;
    expect(row).toMatch(
      /reports no verified artifact; verification failed \(tolerated by the warn policy\): PLB_VERIFY_PAYLOAD_MISMATCH: payload digest sha256:/,
    );
    const detail = await runCli(['fleet', 'node', 'gw-1'], { env });
    expect(detail.stdout).toContain(
      `why: reports no verified artifact; verification failed (tolerated by the warn policy): ${code}: ${message.slice(0, 100)}`,
    );

    // The sealed bytes again: verified, in sync, and the reasons are gone.
    await writeFile(file, sealed);
    await until(async () => {
      const doc = await node();
      return doc.state === 'in_sync' && doc.verification_reasons === null;
    }, 'in sync, without the reasons, after the repair');
    expect((await node()).reported_hash).toBe(hash);
  }, 60_000);
});
