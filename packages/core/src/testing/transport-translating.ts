import { DRIFT_PROTOCOL } from '../drift/protocol.js';
import type { DriftSession, DriftTransport } from '../drift/transport.js';
import {
  ConformanceError,
  resolveApi,
  type ConformanceOptions,
  type ConformanceTestApi,
} from './api.js';
import { TRANSPORT_CLAUSES } from './transport-clauses.js';
import {
  IDENTITIES,
  MAX_FRAME,
  startRecorded,
  withStarted,
  type Recorded,
  type TransportHarnessOptions,
} from './transport-harness.js';
import { registerTranslatingTests } from './transport-translating-tests.js';

/**
 * A drift protocol frame by its meaning: the JSON object of a Plumbline frame (`hello`,
 * `heartbeat`, `welcome`, `error`), whatever the wire form of the transport.
 *
 * @public
 */
export type TransportFrame = Readonly<Record<string, unknown>>;

/**
 * What a translating test client reports: each frame it received, read back into Plumbline
 * meaning, and its close.
 *
 * @public
 */
export interface TranslatingClientHandler {
  /** A frame the control plane sent, in Plumbline meaning (`{ type: 'error', message }`, ...). */
  onFrame(frame: TransportFrame): void;
  /** The connection closed (1006 when it dropped without a close handshake); called once. */
  onClose(code: number, reason: string): void;
}

/**
 * A test client's connection over a translating transport.
 *
 * @public
 */
export interface TranslatingConnection {
  /**
   * Sends a data-plane frame given by its Plumbline meaning (a `heartbeat`: `artifact_hash`
   * a digest, or absent for a heartbeat that reports nothing) in the transport's wire form.
   */
  send(frame: TransportFrame): void;
  /**
   * Sends `frame` as one wire frame of exactly `bytes` UTF-8 bytes (padded where the wire
   * protocol allows, with multi-byte characters if it can, so that a transport counting
   * characters instead of bytes is caught). Without it, the frame-limit clause must be declared
   * not applicable.
   */
  sendSized?(frame: TransportFrame, bytes: number): void;
  /** Closes with a close handshake. */
  close(code?: number, reason?: string): void;
  /** Drops the connection without a close handshake (kill the socket). */
  terminate(): void;
}

/**
 * The client adapter of a translating transport: how a test data plane speaks the transport's
 * own wire protocol.
 *
 * @public
 */
export interface TranslatingClient {
  /**
   * Connects presenting `token` and the Plumbline `hello` (its claim: `node_id`, `cluster`) in
   * the transport's handshake. Resolves once the control plane answered the hello (its
   * `welcome`, which is not passed to `onFrame`) or the connection closed; rejects with a
   * `PLB_DRIFT_UNAUTHENTICATED` error when the credential is refused.
   */
  connect(
    token: string,
    hello: TransportFrame,
    handler: TranslatingClientHandler,
  ): Promise<TranslatingConnection>;
}

/**
 * A translating transport under test, built by the factory passed to
 * {@link describeTranslatingTransportConformance}.
 *
 * @public
 */
export interface TranslatingTransportHarness {
  /** The control-plane side (not yet started). */
  readonly transport: DriftTransport;
  /** The test data plane speaking the transport's wire protocol. */
  readonly client: TranslatingClient;
  /** Releases anything else the harness holds (servers, ports). Optional. */
  dispose?(): Promise<void>;
}

/**
 * Builds a fresh translating transport for one test.
 *
 * @public
 */
export type TranslatingTransportFactory = (
  options: TransportHarnessOptions,
) => Promise<TranslatingTransportHarness>;

/**
 * Clauses a translating transport may declare not applicable. The identity, credential,
 * ordering, lifecycle and close-code clauses apply to every transport.
 *
 * @public
 */
export type WaivableTransportClause =
  'isolation' | 'frameLimit' | 'abrupt' | 'reconnect' | 'shutdown' | 'serveDrift';

/**
 * Options of {@link describeTranslatingTransportConformance}.
 *
 * @public
 */
export interface TranslatingConformanceOptions extends ConformanceOptions {
  /** Clauses that cannot apply to this transport, each with the reason the suite prints. */
  readonly notApplicable?: Partial<Record<WaivableTransportClause, string>>;
}

const WAIVABLE: readonly string[] = [
  'isolation',
  'frameLimit',
  'abrupt',
  'reconnect',
  'shutdown',
  'serveDrift',
] satisfies readonly WaivableTransportClause[];

/** @internal What a translating test client saw. */
export interface TranslatedClientRecord {
  readonly frames: TransportFrame[];
  readonly closes: { code: number; reason: string }[];
}

/** @internal An open translating test client. */
export interface TranslatedClient {
  readonly connection: TranslatingConnection;
  readonly client: TranslatedClientRecord;
}

/** @internal The context shared by the translating mode's tests. */
export interface TranslatingSuite {
  readonly api: ConformanceTestApi;
  readonly timeout: number;
  readonly notApplicable: Readonly<Record<string, string>>;
  /** A fresh harness, not started. */
  harness(): Promise<TranslatingTransportHarness>;
  setup(): Promise<{
    harness: TranslatingTransportHarness;
    rec: Recorded;
    done: () => Promise<void>;
  }>;
  withHarness(
    body: (harness: TranslatingTransportHarness, rec: Recorded) => Promise<void>,
  ): Promise<void>;
  /** Connects with `token`, claiming `claim` (default: the token's own identity). */
  open(
    harness: TranslatingTransportHarness,
    token: string,
    claim?: { node_id: string; cluster: string },
  ): Promise<TranslatedClient>;
}

/** @internal A Plumbline hello claiming `node_id` in `cluster`. */
export function helloFrame(node_id: string, cluster: string): TransportFrame {
  return {
    type: 'hello',
    protocol: DRIFT_PROTOCOL,
    node_id,
    cluster,
    instance_id: `conformance-${node_id}`,
    artifact_hash: null,
  };
}

/** Answers every hello with a welcome, as core's session handler does once it accepts one. */
function welcomeHellos(session: DriftSession, text: string): void {
  let type: unknown;
  try {
    type = (JSON.parse(text) as { type?: unknown } | null)?.type;
  } catch {
    return;
  }
  if (type !== 'hello') return;
  session.send(
    JSON.stringify({
      type: 'welcome',
      protocol: DRIFT_PROTOCOL,
      heartbeat_interval_ms: 60_000,
      server_time: new Date().toISOString(),
    }),
  );
}

function translatingSuite(
  api: ConformanceTestApi,
  timeout: number,
  factory: TranslatingTransportFactory,
  notApplicable: Readonly<Record<string, string>>,
): TranslatingSuite {
  const harness = (): Promise<TranslatingTransportHarness> =>
    factory({ tokens: IDENTITIES, maxFrameBytes: MAX_FRAME });
  const setup: TranslatingSuite['setup'] = () => startRecorded(harness, welcomeHellos);
  return {
    api,
    timeout,
    notApplicable,
    harness,
    setup,
    withHarness: (body) => withStarted(setup, body),
    async open(h, token, claim) {
      const own = IDENTITIES[token] ?? { node_id: 'node-unknown', cluster: 'conf' };
      const { node_id, cluster } = claim ?? own;
      const client: TranslatedClientRecord = { frames: [], closes: [] };
      const connection = await h.client.connect(token, helloFrame(node_id, cluster), {
        onFrame: (frame) => client.frames.push(frame),
        onClose: (code, reason) => client.closes.push({ code, reason }),
      });
      return { connection, client };
    },
  };
}

function checkNotApplicable(notApplicable: Readonly<Record<string, string>>): void {
  for (const [clause, reason] of Object.entries(notApplicable)) {
    if (!WAIVABLE.includes(clause)) {
      throw new ConformanceError(
        `the clause "${clause}" cannot be declared not applicable (only ${WAIVABLE.join(', ')})`,
      );
    }
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new ConformanceError(
        `the clause "${clause}" is declared not applicable without a reason`,
      );
    }
  }
}

/**
 * Registers the drift transport conformance suite in its translating mode, for a transport
 * that translates between its own wire protocol and Plumbline frames (Barbacane's data-plane
 * protocol, for one). The integrator supplies a client adapter ({@link TranslatingClient}): how
 * a test data plane connects and presents its hello, sends a heartbeat in the wire protocol,
 * and reads received frames back into Plumbline meaning. Frames are then compared by meaning:
 * a data-plane frame by its `type` and `artifact_hash`, a control-plane frame by its `type` and
 * `message`. Every clause of {@link TRANSPORT_CLAUSES} runs, except those declared in
 * `notApplicable` (frame limit, isolation, abrupt closes, reconnects, shutdown, serveDrift):
 * each of those is registered as a passing test whose name, and a line on the console, give
 * the reason. The raw tests answer each hello with a `welcome`, as core's session handler does.
 * Identities are compared by `node_id` and `cluster` (the principal is the transport's own
 * naming, and must stay the same from onOpen through onClose).
 *
 * @example
 * ```ts
 * import { describeTranslatingTransportConformance } from '@plumbline/core/testing';
 * await describeTranslatingTransportConformance('my transport', async ({ tokens, maxFrameBytes }) => {
 *   const server = await startMyServer({ tokens, maxFrameBytes });
 *   return { transport: server.transport, client: myWireClient(server.url),
 *            dispose: () => server.stop() };
 * });
 * ```
 * @throws ConformanceError when `notApplicable` names a clause that applies to every transport,
 *   or gives no reason.
 * @public
 */
export async function describeTranslatingTransportConformance(
  name: string,
  factory: TranslatingTransportFactory,
  options: TranslatingConformanceOptions = {},
): Promise<void> {
  const notApplicable: Readonly<Record<string, string>> = options.notApplicable ?? {};
  checkNotApplicable(notApplicable);
  const api = await resolveApi(options.api);
  const suite = translatingSuite(api, options.timeoutMs ?? 10_000, factory, notApplicable);
  api.describe(`drift transport conformance (translating): ${name}`, () => {
    for (const [key, reason] of Object.entries(notApplicable)) {
      const clause = TRANSPORT_CLAUSES[key as WaivableTransportClause];
      api.it(`not applicable to this transport: ${reason} [${clause.id}]`, async () => {
        console.info(`${clause.id} not applicable to ${name}: ${reason}`);
      });
    }
    registerTranslatingTests(suite);
  });
}
