import type { DriftTransport } from '../drift/transport.js';
import { checkEqual, grace, waitFor } from './api.js';
import { registerServeClause, type ServedPeer } from './transport-serve-test.js';
import type {
  TranslatedClient,
  TranslatingSuite,
  TranslatingTransportHarness,
} from './transport-translating.js';

/** The transport with every frame it delivers to serveDrift also kept in `seen`. */
function tapped(inner: DriftTransport, seen: Record<string, unknown>[]): DriftTransport {
  return {
    start: (handler) =>
      inner.start({
        ...handler,
        onMessage(session, text) {
          try {
            seen.push(JSON.parse(text) as Record<string, unknown>);
          } catch {
            seen.push({ type: 'not JSON' });
          }
          handler.onMessage(session, text);
        },
      }),
    close: () => inner.close(),
  };
}

/** The translating transport run by core's `serveDrift`. @internal */
export function registerTranslatingServeTest(suite: TranslatingSuite): void {
  const { timeout } = suite;
  const seen: Record<string, unknown>[] = [];
  let reporting: TranslatedClient | undefined;
  const peer = (p: TranslatedClient): ServedPeer => ({
    closes: p.client.closes,
    close: (code, reason) => p.connection.close(code, reason),
  });
  registerServeClause<TranslatingTransportHarness>({
    api: suite.api,
    timeout,
    harness: () => {
      seen.length = 0;
      reporting = undefined;
      return suite.harness();
    },
    served: (transport) => tapped(transport, seen),
    async reportingPeer(harness, monitor, hash) {
      const a = await suite.open(harness, 'token-a');
      checkEqual(a.client.closes, [], 'closes of node-a once its hello was answered');
      checkEqual(monitor.node('node-a')?.connected, true, 'node-a connected at the monitor');
      a.connection.send({ type: 'heartbeat', artifact_hash: hash });
      reporting = a;
      return peer(a);
    },
    async afterReport(monitor, hash) {
      // A heartbeat that reports nothing keeps the last report: it is not a report of none.
      reporting?.connection.send({ type: 'heartbeat' });
      const beats = (): Record<string, unknown>[] => seen.filter((f) => f['type'] === 'heartbeat');
      await waitFor(() => beats().length >= 2, 'the second heartbeat at serveDrift', timeout);
      checkEqual(
        beats()[1]?.['artifact_hash'],
        hash,
        'the hash of a heartbeat that reported nothing',
      );
      await grace();
      checkEqual(monitor.node('node-a')?.reported_hash, hash, "node-a's report kept");
    },
    async falseClaim(harness) {
      const b = await suite.open(harness, 'token-b', { node_id: 'node-a', cluster: 'conf' });
      return { peer: peer(b), sawError: () => b.client.frames.some((f) => f['type'] === 'error') };
    },
  });
}
