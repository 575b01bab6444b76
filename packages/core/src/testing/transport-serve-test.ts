import { FleetMonitor } from '../drift/monitor.js';
import { serveDrift } from '../drift/server.js';
import { check, checkEqual, clauseTest, waitFor } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import type { TransportSuite } from './transport-harness.js';

const HASH = `sha256:${'a'.repeat(64)}`;

function hello(node_id: string, cluster: string): string {
  return JSON.stringify({
    type: 'hello',
    protocol: 'plumbline.drift/v1',
    node_id,
    cluster,
    instance_id: `conformance-${node_id}`,
    artifact_hash: null,
  });
}

/** The transport run by core's `serveDrift` and a real `FleetMonitor`. @internal */
export function registerServeDriftTest(suite: TransportSuite): void {
  const { api, timeout } = suite;
  clauseTest(
    api,
    C.serveDrift,
    "runs under core's serveDrift: welcome, reports, 4403 for a false claim, disconnect",
    async () => {
      const harness = await suite.harness();
      const monitor = await FleetMonitor.create({
        heartbeatIntervalMs: 60_000,
        flapDamping: false,
      });
      const server = serveDrift({ transport: harness.transport, monitor, helloTimeoutMs: timeout });
      try {
        await server.start();
        const a = await suite.connect(harness, 'token-a');
        a.connection.send(hello('node-a', 'conf'));
        await waitFor(() => a.client.messages.length >= 1, 'the welcome of node-a', timeout);
        checkEqual(
          (JSON.parse(a.client.messages[0] ?? '{}') as { type?: string }).type,
          'welcome',
          'the answer to a true hello',
        );
        a.connection.send(JSON.stringify({ type: 'heartbeat', seq: 1, artifact_hash: HASH }));
        await waitFor(
          () => monitor.node('node-a')?.reported_hash === HASH,
          "node-a's report at the monitor",
          timeout,
        );
        // node-b's credential claiming to be node-a.
        const b = await suite.connect(harness, 'token-b');
        b.connection.send(hello('node-a', 'conf'));
        await waitFor(() => b.client.closes.length >= 1, 'the refusal of a false claim', timeout);
        checkEqual(b.client.closes[0]?.code, 4403, 'close code of a false claim');
        check(
          b.client.messages.some((m) => m.includes('PLB_DRIFT_IDENTITY_MISMATCH')),
          'the error frame of a false claim',
        );
        checkEqual(monitor.node('node-a')?.connected, true, 'node-a connected after the claim');
        a.connection.close(1000, 'bye');
        await waitFor(
          () => monitor.node('node-a')?.connected === false,
          'node-a disconnected at the monitor once it closed',
          timeout,
        );
        checkEqual(server.sessions, 0, 'sessions left at serveDrift');
      } finally {
        try {
          await server.close();
        } finally {
          await monitor.close();
          await harness.dispose?.();
        }
      }
    },
    timeout,
  );
}
