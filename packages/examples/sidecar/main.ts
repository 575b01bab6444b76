/**
 * `npm run example:sidecar -w @plumbline/examples`: a gateway that is not written in JavaScript
 * (simulated by `gateway.sh`, which only writes files) with the `plumbline agent` sidecar beside
 * it. The agent verifies the artifact the gateway runs, reports it to the control plane, watches
 * and re-hashes it, and serves `GET /_admin/provenance` on loopback; the gateway needs no code.
 *
 * The control plane runs in this process (`startControlPlane`); the agent is a separate process,
 * exactly the command an operator would put in a pod or systemd unit.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, startControlPlane } from '@plumbline/cli';
import { hashToken } from '@plumbline/ws';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const fixtures = join(here, '..', 'fixtures', 'gateway-config');
const fromSource = process.execArgv.some((a) => a.includes('@plumbline/source'));
const cliEntry = fromSource
  ? join(repo, 'packages', 'cli', 'src', 'bin.ts')
  : join(repo, 'packages', 'cli', 'dist', 'bin.js');
const work = mkdtempSync(join(tmpdir(), 'plumbline-sidecar-'));
const dataDir = join(work, 'gateway-data');
mkdirSync(dataDir);
const gateway = (...args: string[]): void => {
  console.log(`$ gateway.sh ${args.map((a) => a.replace(work, '$WORK')).join(' ')}`);
  execFileSync(join(here, 'gateway.sh'), args, { stdio: 'inherit' });
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// The build: seal the gateway's compiled routes with the CLI (as its CI would).
const artifact = join(work, 'release.plb');
const quiet = { write: () => true };
const sealed = await run(
  [
    'seal',
    '--inputs',
    fixtures,
    '--payload',
    join(fixtures, 'routes.json'),
    '--out',
    artifact,
    '--commit',
    'c0ffee'.padEnd(40, '0'),
    '--source',
    'https://github.com/acme/edge',
    '--ref',
    'refs/heads/main',
  ],
  { stdout: quiet, stderr: quiet, env: { SOURCE_DATE_EPOCH: '1767225600' }, cwd: work },
);
if (sealed !== 0) throw new Error(`plumbline seal exited with ${sealed}`);

const adminToken = randomBytes(24).toString('hex');
const nodeToken = randomBytes(24).toString('hex');
writeFileSync(join(work, 'node.token'), `${nodeToken}\n`, { mode: 0o600 });
writeFileSync(join(work, 'admin.token'), `${adminToken}\n`, { mode: 0o600 });
const cp = await startControlPlane({
  adminToken,
  nodeTokens: { 'edge-7': { cluster: 'branch-offices', token_sha256: hashToken(nodeToken) } },
  store: join(work, 'state.json'),
  heartbeatIntervalMs: 500,
  logOutput: quiet,
});
const api = async (
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> => {
  const response = await fetch(`${cp.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as Record<string, unknown>;
};
const state = async (): Promise<string | undefined> =>
  ((await api('GET', '/v1/fleet/nodes/edge-7')) as { state?: string }).state;
const until = async (want: string): Promise<void> => {
  for (let i = 0; i < 300 && (await state()) !== want; i++) await sleep(50);
  console.log(`   control plane: edge-7 is ${await state()}`);
  if ((await state()) !== want) throw new Error(`edge-7 never became ${want}`);
};

gateway('deploy', artifact, dataDir);
const desired = (await import('node:fs')).readFileSync(artifact);
const inspect = JSON.parse(
  await (async () => {
    let text = '';
    await run(['inspect', artifact, '--json'], {
      stdout: { write: (c: string) => (text += c) },
      stderr: quiet,
      env: {},
      cwd: work,
    });
    return text;
  })(),
) as { artifact_hash: string };
console.log(`desired artifact_hash ${inspect.artifact_hash} (${desired.length} bytes)`);
await api('PUT', '/v1/clusters/branch-offices/desired', {
  artifact_hash: inspect.artifact_hash,
  reason: 'release',
});

console.log(
  '$ plumbline agent --artifact $WORK/gateway-data/current.plb --control-plane … --node-id edge-7 …',
);
const agent = spawn(
  process.execPath,
  [
    ...process.execArgv,
    cliEntry,
    'agent',
    '--artifact',
    join(dataDir, 'current.plb'),
    '--control-plane',
    cp.wsUrl,
    '--node-id',
    'edge-7',
    '--cluster',
    'branch-offices',
    '--token-file',
    join(work, 'node.token'),
    '--admin-listen',
    '127.0.0.1:0',
    '--admin-token-file',
    join(work, 'admin.token'),
    '--heartbeat-interval',
    '1s',
    '--rehash-interval',
    '1s',
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
try {
  const listening = await new Promise<{ admin: string }>((resolve, reject) => {
    let buffered = '';
    agent.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n')) resolve(JSON.parse(line!) as { admin: string });
    });
    agent.once('exit', (code) => reject(new Error(`the agent exited with ${code}`)));
  });
  await until('in_sync');
  const provenance = (await (
    await fetch(`${listening.admin}/_admin/provenance`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
  ).json()) as { artifact_hash: string; commit: string };
  console.log(
    `   agent ${listening.admin}/_admin/provenance: ${provenance.artifact_hash.slice(0, 19)}… commit ${provenance.commit.slice(0, 10)}`,
  );

  gateway('patch', dataDir);
  await until('drift');
  gateway('deploy', artifact, dataDir);
  await until('in_sync');
} finally {
  agent.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) =>
    agent.exitCode === null ? agent.once('exit', resolve) : resolve(agent.exitCode),
  );
  await cp.close();
  rmSync(work, { recursive: true, force: true });
  console.log(`agent stopped (exit ${code}); control plane closed`);
}
