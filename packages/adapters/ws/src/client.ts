import {
  DataPlaneReporter,
  type BackoffOptions,
  type MonitorLogger,
  type ReportedState,
  type ReporterStats,
} from '@plumbline/core/drift';
import type { LoadedArtifactSource } from '@plumbline/core/verify';
import {
  createWsChannel,
  type DataPlaneCredentials,
  type DataPlaneTlsOptions,
  type WsChannelOptions,
} from './channel.js';

/**
 * Options of {@link connectDataPlane}.
 *
 * @public
 */
export interface ConnectDataPlaneOptions {
  /** `ws://` or `wss://` URL of the control plane's data-plane endpoint. */
  readonly url: string;
  /** This node's id (must match its credentials). */
  readonly nodeId: string;
  /** This node's cluster (must match its credentials). */
  readonly cluster: string;
  /** How to authenticate: a token, a token file (re-read on every connect), or mTLS. */
  readonly credentials: DataPlaneCredentials;
  /**
   * What the gateway loaded: core's `LoadedArtifactRegistry` (or any `LoadedArtifactSource`),
   * whose changes are reported at once, or a function read at every heartbeat.
   */
  readonly source: LoadedArtifactSource | (() => ReportedState);
  /** TLS options for `wss://` (CA, and client certificate for mTLS). */
  readonly tls?: DataPlaneTlsOptions;
  /** Heartbeat interval until the control plane's `welcome` sets it (default 5,000 ms). */
  readonly heartbeatIntervalMs?: number;
  /** Reconnect backoff: exponential with full jitter (defaults 500 ms to 30 s). */
  readonly backoff?: BackoffOptions;
  /** Instance id (default: the source's, or a random UUID per process start). */
  readonly instanceId?: string;
  /** Where caught errors are reported (never secrets). */
  readonly logger?: MonitorLogger;
  /** Channel options (handshake timeout, frame and token limits). */
  readonly channel?: Pick<
    WsChannelOptions,
    'handshakeTimeoutMs' | 'maxFrameBytes' | 'maxTokenBytes'
  >;
}

/**
 * A running data-plane connection: core's `DataPlaneReporter` over the WebSocket channel.
 *
 * @public
 */
export interface DataPlaneClient {
  /** The reporter (status, heartbeat interval, instance id). */
  readonly reporter: DataPlaneReporter;
  /** Pushes the latest state and sends a heartbeat at once when connected. Never throws. */
  report(state: ReportedState): void;
  /** The reporter's counters. */
  stats(): ReporterStats;
  /** Stops reporting and closes the connection (1001). Idempotent. */
  close(): Promise<void>;
}

/**
 * Connects a data plane to its control plane in a few lines: opens the WebSocket channel, sends
 * `hello` and heartbeats from `source`, reconnects with exponential backoff and full jitter
 * (re-reading a token file on each attempt), keeps only the latest state while disconnected, and
 * never throws into the gateway. Changes of a `LoadedArtifactSource` are sent at once.
 *
 * @example
 * ```ts
 * import { LoadedArtifactRegistry } from '@plumbline/core/verify';
 * import { connectDataPlane } from '@plumbline/ws';
 * const registry = new LoadedArtifactRegistry();
 * const client = connectDataPlane({
 *   url: 'wss://cp.example:8443/ws/data-plane',
 *   nodeId: 'gw-1',
 *   cluster: 'prod-eu',
 *   credentials: { tokenFile: '/run/secrets/plumbline-token' },
 *   source: registry,
 * });
 * // on shutdown
 * await client.close();
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_URL_INVALID` for a URL that is not ws(s)://;
 *   `PLB_DRIFT_INVALID_OPTION` for an out-of-range interval or backoff.
 * @public
 */
export function connectDataPlane(options: ConnectDataPlaneOptions): DataPlaneClient {
  const channel = createWsChannel({
    url: options.url,
    credentials: options.credentials,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...options.channel,
  });
  const src = options.source;
  const reporter = new DataPlaneReporter({
    channel,
    node_id: options.nodeId,
    cluster: options.cluster,
    ...(typeof src === 'function' ? { source: src } : { loaded: src }),
    ...(options.instanceId === undefined ? {} : { instance_id: options.instanceId }),
    ...(options.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  reporter.start();
  return {
    reporter,
    report: (state) => reporter.report(state),
    stats: () => reporter.stats(),
    close: () => reporter.close(),
  };
}
