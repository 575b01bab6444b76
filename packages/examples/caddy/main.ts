/**
 * `npm run example:caddy -w @plumbline/examples`: the live-configuration story with a real Caddy
 * (Debian's `caddy` package), in one command. It seals Caddy's JSON configuration, starts Caddy on
 * free loopback ports, a control plane and the agent with `--probe caddy=…`, then:
 *
 * 1. Caddy runs the sealed configuration: in_sync;
 * 2. someone changes it through Caddy's admin API (`POST /load`): drift, naming the JSON path;
 * 3. Caddy stops: probe_failing (never silently in sync);
 * 4. Caddy starts again with the sealed configuration: in_sync.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startAgent } from '@plumbline/cli';
import { sealArtifact } from '@plumbline/core/container';
import { FleetMonitor, type FleetEvent, type NodeState } from '@plumbline/core/drift';
import { formatDigest, sha256 } from '@plumbline/core/hash';
import { createCaddyProbe } from '@plumbline/core/probe';
import { createControlPlaneServer, createTokenAuthenticator, hashToken } from '@plumbline/ws';

const work = await mkdtemp(join(tmpdir(), 'plumbline-caddy-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const adminPort = await freePort();
const port = await freePort();
const admin = `http://127.0.0.1:${adminPort}`;
const config = {
  admin: { listen: `127.0.0.1:${adminPort}` },
  apps: {
    http: {
      servers: {
        main: {
          listen: [`127.0.0.1:${port}`],
          routes: [
            { handle: [{ handler: 'static_response', body: 'hello from the sealed config' }] },
          ],
        },
      },
    },
  },
};
const configFile = join(work, 'caddy.json');
await writeFile(configFile, JSON.stringify(config, null, 2));

let caddy: ChildProcess | undefined;
async function startCaddy(): Promise<void> {
  caddy = spawn('caddy', ['run', '--config', configFile], {
    stdio: 'ignore',
    env: { ...process.env, HOME: work, XDG_DATA_HOME: work, XDG_CONFIG_HOME: work },
  });
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${admin}/config/`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(25);
  }
  throw new Error('caddy did not start (is the caddy package installed?)');
}
async function stopCaddy(): Promise<void> {
  if (caddy?.exitCode !== null || caddy.signalCode !== null) return;
  const exited = new Promise((r) => caddy!.once('exit', r));
  caddy.kill('SIGTERM');
  await exited;
}

// The build: seal the JSON configuration (the payload is what Caddy should run).
const payload = new TextEncoder().encode(JSON.stringify(config, null, 2));
const artifact = join(work, 'caddy.plb');
const { header } = await sealArtifact(
  {
    manifest: {
      entries: [
        { path: 'caddy.json', size: payload.length, digest: formatDigest(sha256(payload)) },
      ],
    },
    provenance: {
      commit: '1'.repeat(40),
      source: 'github.com/example/edge-config',
      ref: 'refs/heads/main',
      builder: { id: 'example', version: '1.0.0' },
    },
    sourceDateEpoch: null,
    payload,
    mediaType: 'application/json',
  },
  Writable.toWeb(createWriteStream(artifact)) as WritableStream<Uint8Array>,
);
console.log(`sealed caddy.json: ${header.artifact_hash}`);

// The control plane, with the sealed artifact as the cluster's desired state.
const monitor = await FleetMonitor.create({ heartbeatIntervalMs: 500, flapDamping: false });
const server = await createControlPlaneServer({
  monitor,
  auth: createTokenAuthenticator({
    nodes: { 'edge-1': { cluster: 'edge', token_sha256: hashToken('edge-1-token') } },
  }),
});
await monitor.setDesired({
  cluster: 'edge',
  artifact_hash: header.artifact_hash,
  actor: 'ci',
  reason: 'release',
});
monitor.onAny((event: FleetEvent) => {
  if (event.type === 'drift.detected')
    console.log(
      `  ALERT drift.detected: live config differs at ${event.live_config?.differences?.join(', ')}`,
    );
  if (event.type === 'node.probe_failing')
    console.log(`  ALERT node.probe_failing: ${event.live_config?.code}`);
});
const reach = async (state: NodeState): Promise<void> => {
  while (monitor.node('edge-1')?.state !== state) await sleep(20);
  const live = monitor.node('edge-1')?.live_config;
  console.log(
    `  control plane: edge-1 is ${state} (live ${live?.digest ?? live?.code ?? 'unknown'})`,
  );
};

await startCaddy();
await writeFile(join(work, 'node.token'), 'edge-1-token\n');
const agent = await startAgent({
  artifact,
  controlPlane: server.url,
  nodeId: 'edge-1',
  cluster: 'edge',
  tokenFile: join(work, 'node.token'),
  heartbeatIntervalMs: 500,
  probe: createCaddyProbe({ url: admin }),
  logOutput: { write: () => true },
});
try {
  console.log('1. Caddy runs the sealed configuration');
  await reach('in_sync');
  console.log('2. someone changes the route through the admin API (POST /load)');
  const changed = structuredClone(config);
  changed.apps.http.servers.main.routes[0]!.handle[0]!.body = 'changed by hand';
  await fetch(`${admin}/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(changed),
  });
  await reach('drift');
  console.log('3. Caddy stops');
  await stopCaddy();
  await reach('probe_failing');
  console.log('4. Caddy starts again with the sealed configuration');
  await startCaddy();
  await reach('in_sync');
} finally {
  await agent.close();
  await stopCaddy();
  await server.close();
  await monitor.close();
  await rm(work, { recursive: true, force: true });
}
