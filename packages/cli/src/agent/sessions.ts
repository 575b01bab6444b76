import { randomUUID } from 'node:crypto';
import {
  DataPlaneReporter,
  DriftCloseCode,
  type DriftChannel,
  type MonitorLogger,
  type ReportedState,
} from '@plumbline/core/drift';
import {
  createWsChannel,
  type DataPlaneClient,
  type DataPlaneCredentials,
  type DataPlaneTlsOptions,
} from '@plumbline/ws';

/**
 * The agent's connection to the control plane, as a series of drift sessions.
 *
 * The drift protocol sends a node's provenance only in `hello`; heartbeats carry the artifact
 * hash alone. A sidecar that kept one session while the gateway moved to another artifact would
 * leave the control plane showing the old artifact's commit next to the new hash. So when the
 * artifact on disk changes to another verified artifact, the agent opens a new session (a new
 * `instance_id`, whose `hello` carries the new hash and provenance together) and retires the old
 * one once the control plane has welcomed the new one or replaced the old one (close code 4409).
 * Until then the old session keeps reporting what it reported before, so the control plane never
 * pairs the new hash with the old provenance, and sees no `node.disconnected` between the two.
 *
 * @internal
 */
export interface AgentSessions {
  /** The newest session's client. */
  readonly client: DataPlaneClient;
  /** The hash whose provenance the newest session announced (or will announce) in its hello. */
  readonly announced: string | null;
  /** Sends the current state at once (a heartbeat on the newest session). */
  report(): void;
  /** Hands over to a new session that announces the current state. */
  renew(): void;
  /** Closes every session (1001). */
  close(): Promise<void>;
}

/** Options of {@link openAgentSessions}. @internal */
export interface AgentSessionOptions {
  readonly url: string;
  readonly nodeId: string;
  readonly cluster: string;
  readonly credentials: DataPlaneCredentials;
  readonly tls?: DataPlaneTlsOptions;
  readonly heartbeatIntervalMs?: number;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly logger: MonitorLogger;
  /** The first session's instance id (later sessions get a random UUID each). */
  readonly instanceId: string;
  /** The state to report now. */
  readonly state: () => ReportedState;
}

/**
 * Opens the first session. See {@link AgentSessions}.
 *
 * @internal
 */
export function openAgentSessions(options: AgentSessionOptions): AgentSessions {
  interface Session {
    readonly client: DataPlaneClient;
    /** Set once a newer session exists: what this one keeps reporting until it is replaced. */
    frozen?: ReportedState;
  }
  const live = new Set<Session>();
  let current: Session;
  // The state last sent (by report() or a session's hello): what an older session freezes at.
  let last = options.state();
  let announced = last.artifact_hash;

  const retire = async (session: Session): Promise<void> => {
    live.delete(session);
    await session.client.close();
  };

  const open = (instanceId: string): Session => {
    const channel = createWsChannel({
      url: options.url,
      credentials: options.credentials,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    const session: { client?: DataPlaneClient; frozen?: ReportedState } = {};
    const watched: DriftChannel = {
      connect: (handler, signal) =>
        channel.connect(
          {
            onMessage: (text) => {
              handler.onMessage(text);
              // Welcomed: the control plane holds this session's hello, so older sessions are
              // done (their close is ignored, as they are no longer the node's session).
              if (session === current && session.client!.stats().sessions > 0) {
                for (const older of live) if (older !== session) void retire(older);
              }
            },
            onClose: (code, reason) => {
              handler.onClose(code, reason);
              // Replaced by the newer session's hello: done, and never reconnect to displace it.
              if (code === DriftCloseCode.Replaced && session !== current)
                void retire(session as Session);
            },
          },
          signal,
        ),
    };
    const reporter = new DataPlaneReporter({
      channel: watched,
      node_id: options.nodeId,
      cluster: options.cluster,
      instance_id: instanceId,
      source: () => session.frozen ?? options.state(),
      ...(options.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      logger: options.logger,
    });
    session.client = {
      reporter,
      report: (state) => reporter.report(state),
      stats: () => reporter.stats(),
      close: () => reporter.close(),
    };
    live.add(session as Session);
    reporter.start();
    return session as Session;
  };

  current = open(options.instanceId);

  return {
    get client() {
      return current.client;
    },
    get announced() {
      return announced;
    },
    report() {
      last = options.state();
      current.client.report(last);
    },
    renew() {
      current.frozen = last;
      last = options.state();
      announced = last.artifact_hash;
      current = open(randomUUID());
    },
    async close() {
      await Promise.all([...live].map((session) => retire(session)));
    },
  };
}
