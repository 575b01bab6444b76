import { FleetMonitor } from '../drift/monitor.js';
import { serveDrift } from '../drift/server.js';
import type { DriftConnection, DriftTransport } from '../drift/transport.js';
import { check, checkEqual, clauseTest, waitFor, type ConformanceTestApi } from './api.js';
import { TRANSPORT_CLAUSES as C } from './transport-clauses.js';
import type { ClientRecord, TransportHarness, TransportSuite } from './transport-harness.js';

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

/** @internal One data plane connected to serveDrift, as the serveDrift clause drives it. */
export interface ServedPeer {
  readonly closes: readonly { code: number; reason: string }[];
  close(code: number, reason: string): void;
}

/** @internal How one mode of the suite drives the serveDrift clause. */
export interface ServeSteps<H extends { readonly transport: DriftTransport }> {
  readonly api: ConformanceTestApi;
  readonly timeout: number;
  harness(): Promise<H & { dispose?(): Promise<void> }>;
  /** The transport serveDrift runs (the harness's, or one wrapped around it). */
  served?(transport: DriftTransport): DriftTransport;
  /** Connects node-a with a true hello, waits for its welcome and sends a report of `hash`. */
  reportingPeer(harness: H, monitor: FleetMonitor, hash: string): Promise<ServedPeer>;
  /** Checks what the mode checks beyond the report once node-a reported (optional). */
  afterReport?(monitor: FleetMonitor, hash: string): Promise<void>;
  /** Connects node-b's credential claiming to be node-a; `sawError` tells an error frame came. */
  falseClaim(harness: H): Promise<{ peer: ServedPeer; sawError(): boolean }>;
}

/** @internal The serveDrift clause: the transport run by core's `serveDrift` and a real `FleetMonitor`. */
export function registerServeClause<H extends { readonly transport: DriftTransport }>(
  steps: ServeSteps<H>,
): void {
  const { api, timeout } = steps;
  clauseTest(
    api,
    C.serveDrift,
    "runs under core's serveDrift: welcome, reports, 4403 for a false claim, disconnect",
    async () => {
      const harness = await steps.harness();
      const monitor = await FleetMonitor.create({
        heartbeatIntervalMs: 60_000,
        flapDamping: false,
      });
      const transport = steps.served?.(harness.transport) ?? harness.transport;
      const server = serveDrift({ transport, monitor, helloTimeoutMs: timeout });
      try {
        await server.start();
        const a = await steps.reportingPeer(harness, monitor, HASH);
        await waitFor(
          () => monitor.node('node-a')?.reported_hash === HASH,
          "node-a's report at the monitor",
          timeout,
        );
        await steps.afterReport?.(monitor, HASH);
        const b = await steps.falseClaim(harness);
        await waitFor(() => b.peer.closes.length >= 1, 'the refusal of a false claim', timeout);
        checkEqual(b.peer.closes[0]?.code, 4403, 'close code of a false claim');
        check(b.sawError(), 'the error frame of a false claim');
        checkEqual(monitor.node('node-a')?.connected, true, 'node-a connected after the claim');
        a.close(1000, 'bye');
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

/** The byte-for-byte transport run by core's `serveDrift`. @internal */
export function registerServeDriftTest(suite: TransportSuite): void {
  const peer = (p: { connection: DriftConnection; client: ClientRecord }): ServedPeer => ({
    closes: p.client.closes,
    close: (code, reason) => p.connection.close(code, reason),
  });
  registerServeClause<TransportHarness>({
    api: suite.api,
    timeout: suite.timeout,
    harness: () => suite.harness(),
    async reportingPeer(harness, _monitor, hash) {
      const a = await suite.connect(harness, 'token-a');
      a.connection.send(hello('node-a', 'conf'));
      await waitFor(() => a.client.messages.length >= 1, 'the welcome of node-a', suite.timeout);
      checkEqual(
        (JSON.parse(a.client.messages[0] ?? '{}') as { type?: string }).type,
        'welcome',
        'the answer to a true hello',
      );
      a.connection.send(JSON.stringify({ type: 'heartbeat', seq: 1, artifact_hash: hash }));
      return peer(a);
    },
    async falseClaim(harness) {
      const b = await suite.connect(harness, 'token-b');
      b.connection.send(hello('node-a', 'conf'));
      return {
        peer: peer(b),
        sawError: () => b.client.messages.some((m) => m.includes('PLB_DRIFT_IDENTITY_MISMATCH')),
      };
    },
  });
}
