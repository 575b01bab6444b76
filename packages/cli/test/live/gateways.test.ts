// The whole live-configuration story against real gateways: seal the gateway's configuration,
// run the agent with its probe against a real control plane, and change the running
// configuration out of band, edit files without a reload, stop and restore the gateway.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealArtifact } from '@plumbline/core/container';
import { FleetMonitor, type FleetEvent, type NodeState } from '@plumbline/core/drift';
import { formatDigest, sha256, type DigestString } from '@plumbline/core/hash';
import { createCaddyProbe, type LiveConfigProbe } from '@plumbline/core/probe';
import { createHaproxyProbe, createNginxProbe } from '@plumbline/core/probe/node';
import {
  createControlPlaneServer,
  createTokenAuthenticator,
  hashToken,
  type ControlPlaneServer,
} from '@plumbline/ws';
import { startAgent, type RunningAgent } from '@plumbline/cli';
import {
  startCaddy,
  startHaproxy,
  startNginx,
  type FileGateway,
} from '@plumbline/testkit/gateways';
import { until } from '../helpers.js';

const INTERVAL_MS = 200;
const quiet = { write: () => true };
let dir: string;
let monitor: FleetMonitor;
let server: ControlPlaneServer;
const events: FleetEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-live-'));
  monitor = await FleetMonitor.create({ heartbeatIntervalMs: INTERVAL_MS, flapDamping: false });
  monitor.onAny((event) => events.push(event));
  const nodes = Object.fromEntries(
    ['caddy', 'nginx', 'haproxy'].map((id) => [
      id,
      { cluster: id, token_sha256: hashToken(`token-${id}`) },
    ]),
  );
  server = await createControlPlaneServer({ monitor, auth: createTokenAuthenticator({ nodes }) });
  for (const id of Object.keys(nodes)) await writeFile(join(dir, `${id}.token`), `token-${id}\n`);
});

afterAll(async () => {
  await server.close();
  await monitor.close();
  await rm(dir, { recursive: true, force: true });
});

/** Seals `payload` (the gateway's configuration) and returns the artifact's hash. */
async function seal(path: string, payload: Uint8Array): Promise<DigestString> {
  const result = await sealArtifact(
    {
      manifest: {
        entries: [
          { path: 'gateway.conf', size: payload.length, digest: formatDigest(sha256(payload)) },
        ],
      },
      provenance: {
        commit: 'c'.repeat(40),
        source: 'github.com/example/gateway-config',
        ref: 'refs/heads/main',
        builder: { id: 'test', version: '1.0.0' },
      },
      buildTimestamp: '2026-01-01T00:00:00Z',
      sourceDateEpoch: null,
      payload,
    },
    Writable.toWeb(createWriteStream(path)) as WritableStream<Uint8Array>,
  );
  return result.header.artifact_hash;
}

async function agentFor(
  node: string,
  payload: Uint8Array,
  probe: LiveConfigProbe,
): Promise<RunningAgent> {
  const artifact = join(dir, `${node}.plb`);
  const hash = await seal(artifact, payload);
  await monitor.setDesired({ cluster: node, artifact_hash: hash, actor: 't', reason: 'sealed' });
  return startAgent({
    artifact,
    controlPlane: server.url,
    nodeId: node,
    cluster: node,
    tokenFile: join(dir, `${node}.token`),
    heartbeatIntervalMs: INTERVAL_MS,
    probe,
    logOutput: quiet,
  });
}

const stateOf = (node: string) => monitor.node(node)?.state;
const reach = (node: string, state: NodeState) =>
  until(() => stateOf(node) === state, `${node} ${state}`);
const eventsOf = (node: string, type: FleetEvent['type']) =>
  events.filter((e) => 'node_id' in e && e.node_id === node && e.type === type);

/**
 * Runs `change`, then waits for `drift.detected`, and returns it with how many heartbeats the
 * control plane accepted in between. Probes start every interval and the agent reports a change at
 * once, so the alert comes within one interval plus one probe's duration: a window that holds at
 * most two regular heartbeats and the immediate one (three), never the further probe cycles a
 * slower path would take.
 */
async function driftAfter(node: string, change: () => Promise<void>) {
  const before = eventsOf(node, 'drift.detected').length;
  await change();
  const beats = monitor.counters().heartbeats;
  const event = await until(
    () => eventsOf(node, 'drift.detected')[before],
    `${node} drift.detected`,
  );
  return { event, heartbeats: monitor.counters().heartbeats - beats };
}

describe('Caddy: live configuration through the agent', () => {
  it('in sync, an admin-API change is drift naming the JSON path, down is probe_failing, restored is in sync', async () => {
    const caddy = await startCaddy(join(dir, 'caddy'));
    const agent = await agentFor(
      'caddy',
      new TextEncoder().encode(JSON.stringify(caddy.config, null, 2)),
      createCaddyProbe({ url: caddy.adminUrl, timeoutMs: 1000 }),
    );
    try {
      await reach('caddy', 'in_sync');
      expect(monitor.node('caddy')?.live_config?.status).toBe('ok');

      const next = structuredClone(caddy.config) as {
        apps: { http: { servers: { main: { routes: { handle: { body: string }[] }[] } } } };
      };
      next.apps.http.servers.main.routes[0]!.handle[0]!.body = 'changed through /load';
      const { event, heartbeats } = await driftAfter('caddy', () => caddy.load(next));
      expect(heartbeats).toBeLessThanOrEqual(3);
      expect(event.type === 'drift.detected' && event.live_config?.differences).toEqual([
        '/apps/http/servers/main/routes/0/handle/0/body',
      ]);
      expect(JSON.stringify(event)).not.toContain('changed through /load');

      await caddy.stop();
      await reach('caddy', 'probe_failing');
      expect(eventsOf('caddy', 'node.probe_failing').at(-1)).toMatchObject({
        live_config: { status: 'failing', code: 'PLB_PROBE_UNREACHABLE' },
      });

      await caddy.restart();
      await reach('caddy', 'in_sync');
    } finally {
      await agent.close();
      await caddy.stop();
    }
  });
});

describe.each([
  ['nginx', startNginx, (g: FileGateway) => createNginxProbe({ pidFile: g.pidFile })],
  ['haproxy', startHaproxy, (g: FileGateway) => createHaproxyProbe({ pidFile: g.pidFile })],
] as const)('%s: live configuration through the agent', (node, start, probeOf) => {
  it('in sync, an edit without reload is reload_pending (no alert), a reload of it is drift, down is probe_failing, restored is in sync', async () => {
    const gateway = await start(join(dir, node));
    const agent = await agentFor(node, await gateway.payload(), probeOf(gateway));
    try {
      await reach(node, 'in_sync');

      await new Promise((resolve) => setTimeout(resolve, 100)); // past the start-time slack
      await gateway.write(gateway.configWith('edited'));
      await reach(node, 'reload_pending');
      expect(eventsOf(node, 'drift.detected')).toEqual([]);

      const { event, heartbeats } = await driftAfter(node, () => gateway.reload());
      expect(heartbeats).toBeLessThanOrEqual(3);
      const differences = event.type === 'drift.detected' ? event.live_config?.differences : [];
      expect(
        differences?.some((d) => d.endsWith(node === 'nginx' ? ': return' : ': http-request')),
      ).toBe(true);

      await gateway.stop();
      await reach(node, 'probe_failing');

      await gateway.write(gateway.configWith('one'));
      await gateway.start();
      await reach(node, 'in_sync');
    } finally {
      await agent.close();
      await gateway.stop();
    }
  });
});
