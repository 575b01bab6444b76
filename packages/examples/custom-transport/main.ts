/**
 * `npm run example:custom-transport -w @plumbline/examples`: a control plane and two data planes
 * talking the drift protocol over the SSE + POST transport of this folder instead of WebSocket.
 * Core does everything above the transport: `serveDrift` checks hellos and feeds the
 * `FleetMonitor`; `DataPlaneReporter` sends hello and heartbeats and reconnects.
 */
import { randomBytes } from 'node:crypto';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import { DataPlaneReporter, FleetMonitor, serveDrift } from '@plumbline/core/drift';
import { createSseChannel } from './sse-channel.js';
import { createSseTransport } from './sse-transport.js';

const v1 = formatDigest(sha256(utf8('routes v1')));
const hotfix = formatDigest(sha256(utf8('routes hand-edited on edge-2')));
const tokens = {
  [randomBytes(16).toString('hex')]: {
    node_id: 'edge-1',
    cluster: 'lab',
    principal: 'token:edge-1',
  },
  [randomBytes(16).toString('hex')]: {
    node_id: 'edge-2',
    cluster: 'lab',
    principal: 'token:edge-2',
  },
};

const monitor = await FleetMonitor.create();
monitor.onAny((event) =>
  console.log(`  event ${event.type}${'node_id' in event ? ` ${String(event.node_id)}` : ''}`),
);
const transport = createSseTransport({ tokens });
const server = serveDrift({ transport, monitor });
await server.start();
console.log(`control plane: SSE + POST transport on ${transport.url}`);

const reporters = Object.entries(tokens).map(
  ([token, identity]) =>
    new DataPlaneReporter({
      channel: createSseChannel({ url: transport.url, token }),
      node_id: identity.node_id,
      cluster: identity.cluster,
      initialState: { artifact_hash: v1, loaded_at: new Date().toISOString() },
      heartbeatIntervalMs: 200,
    }),
);
for (const reporter of reporters) reporter.start();

const until = async (what: string, condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};
await until('both nodes', () => monitor.nodes().filter((n) => n.connected).length === 2);
await monitor.setDesired({
  cluster: 'lab',
  artifact_hash: v1,
  actor: 'example',
  reason: 'first rollout',
});
await until('in_sync', () => monitor.nodes().every((n) => n.state === 'in_sync'));
const table = (): void => {
  for (const node of monitor.nodes()) {
    console.log(
      `${node.node_id.padEnd(8)} ${node.cluster.padEnd(5)} ${node.state.padEnd(8)} ${node.reported_hash?.slice(0, 19)}…`,
    );
  }
};
table();

console.log('edge-2 now reports a configuration nobody rolled out:');
reporters[1]!.report({ artifact_hash: hotfix, loaded_at: new Date().toISOString() });
await until('drift', () => monitor.node('edge-2')?.state === 'drift');
table();

for (const reporter of reporters) await reporter.close();
await server.close();
await monitor.close();
console.log('done: drift detected over SSE + POST');
