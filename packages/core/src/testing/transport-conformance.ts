import { resolveApi, type ConformanceOptions, type ConformanceTestApi } from './api.js';
import {
  IDENTITIES,
  MAX_FRAME,
  startRecorded,
  withStarted,
  type ClientRecord,
  type TransportFactory,
  type TransportHarness,
  type TransportSuite,
} from './transport-harness.js';
import { registerSessionTests } from './transport-session-tests.js';

export { TRANSPORT_CLAUSES } from './transport-clauses.js';
export type {
  TransportFactory,
  TransportHarness,
  TransportHarnessOptions,
} from './transport-harness.js';
export {
  describeTranslatingTransportConformance,
  type TransportFrame,
  type TranslatingClient,
  type TranslatingClientHandler,
  type TranslatingConformanceOptions,
  type TranslatingConnection,
  type TranslatingTransportFactory,
  type TranslatingTransportHarness,
  type WaivableTransportClause,
} from './transport-translating.js';

function suiteOf(
  api: ConformanceTestApi,
  timeout: number,
  factory: TransportFactory,
): TransportSuite {
  const harness = (): Promise<TransportHarness> =>
    factory({ tokens: IDENTITIES, maxFrameBytes: MAX_FRAME });
  const setup: TransportSuite['setup'] = () => startRecorded(harness);
  const open: TransportSuite['open'] = async (harness, token) => {
    const client: ClientRecord = { messages: [], closes: [] };
    const connection = await harness.channel(token).connect({
      onMessage: (text) => client.messages.push(text),
      onClose: (code, reason) => client.closes.push({ code, reason }),
    });
    return { connection, client };
  };
  return {
    api,
    timeout,
    harness,
    setup,
    open,
    connect: open,
    withHarness: (body) => withStarted(setup, body),
  };
}

/**
 * Registers the drift transport conformance suite. Every test names the contract clause it
 * checks ({@link TRANSPORT_CLAUSES}), and a failure starts with that clause in words: the
 * identity bound to the credential (never the hello's claim, never changed before onClose),
 * exact credential matching, ordered delivery of bursts both ways, isolation of sessions, the
 * frame limit (1009), the session lifecycle (nothing after a close), abrupt closes (1006),
 * close codes and reasons both ways, reconnects, shutdown (1001), and the transport run by core's
 * `serveDrift` (welcome, 4403 for a false claim, disconnect). Run it from a test file of the
 * transport's package (top-level `await` works in Vitest):
 *
 * @example
 * ```ts
 * import { describeTransportConformance } from '@plumbline/core/testing';
 * await describeTransportConformance('my transport', async ({ tokens, maxFrameBytes }) => {
 *   const server = await startMyServer({ tokens, maxFrameBytes });
 *   return { transport: server.transport, channel: (t) => myChannel(server.url, t),
 *            terminate: (c) => (c as MyConnection).socket.destroy(), dispose: () => server.stop() };
 * });
 * ```
 * @public
 */
export async function describeTransportConformance(
  name: string,
  factory: TransportFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const api = await resolveApi(options.api);
  const suite = suiteOf(api, options.timeoutMs ?? 10_000, factory);
  api.describe(`drift transport conformance: ${name}`, () => {
    registerSessionTests(suite);
  });
}
