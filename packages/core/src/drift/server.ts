import type { AuditLogger } from '../audit/index.js';
import { sessionAccepted, sessionRejected } from '../audit/catalogue.js';
import { PlumblineError } from '../errors.js';
import type { TimerHandle } from './clock.js';
import type { FleetMonitor } from './monitor.js';
import {
  DRIFT_PROTOCOL,
  DriftCloseCode,
  encodeFrame,
  parseDataPlaneFrame,
  type FrameLimits,
} from './protocol.js';
import type { DriftAuthFailure, DriftSession, DriftTransport } from './transport.js';

/**
 * A refused session or connection, for the audit trail (`session.rejected`).
 *
 * @public
 */
export interface SessionRejection {
  /** The error code sent (`PLB_DRIFT_IDENTITY_MISMATCH`, `PLB_DRIFT_UNAUTHENTICATED`, ...). */
  readonly code: string;
  /**
   * Why, in words (the `error` frame message, or the transport's reason for a failed
   * authentication).
   */
  readonly reason: string;
  /** The close code the session was (or the connection would have been) closed with. */
  readonly close_code: number;
  /** The authenticated identity, when the transport had one. */
  readonly node_id?: string;
  /** The authenticated cluster, when the transport had an identity. */
  readonly cluster?: string;
  /** The authenticated principal (never a secret), when the transport had an identity. */
  readonly principal?: string;
  /** The peer's address, when the transport knows it. */
  readonly remoteAddress?: string;
  /** What the hello claimed, for identity mismatches. */
  readonly claimed?: { readonly node_id: string; readonly cluster: string };
}

/**
 * Options of {@link serveDrift}.
 *
 * @public
 */
export interface ServeDriftOptions {
  /** The control-plane side of a transport. */
  readonly transport: DriftTransport;
  /** The monitor that receives hellos, heartbeats and disconnects. */
  readonly monitor: FleetMonitor;
  /** A session that sends no `hello` within this time is closed with 4408. Default 10,000 ms. */
  readonly helloTimeoutMs?: number;
  /** Frame limits (size is checked before parsing). */
  readonly limits?: FrameLimits;
  /** Called for every refused session or connection (never with secrets). */
  readonly onRejected?: (rejection: SessionRejection) => void;
  /**
   * The audit trail: `session.accepted` for every accepted hello and `session.rejected` for every
   * refused connection or session (fire-and-forget; failures are reported to `onAuditError`).
   */
  readonly audit?: AuditLogger;
  /** Called when an audit event could not be written. */
  readonly onAuditError?: (error: unknown) => void;
}

const REASON_CODES: Readonly<Record<string, string>> = {
  PLB_DRIFT_UNAUTHENTICATED: 'unauthenticated',
  PLB_DRIFT_IDENTITY_MISMATCH: 'identity_mismatch',
  PLB_DRIFT_UNSUPPORTED_PROTOCOL: 'protocol_mismatch',
  PLB_DRIFT_MALFORMED: 'malformed',
  PLB_DRIFT_OUT_OF_ORDER: 'malformed',
  PLB_DRIFT_HELLO_TIMEOUT: 'timeout',
  PLB_DRIFT_FLEET_FULL: 'rate_limited',
  PLB_DRIFT_SHUTDOWN: 'rate_limited',
  PLB_DRIFT_REPLACED: 'replaced',
  PLB_DRIFT_FRAME_TOO_BIG: 'too_large',
};

/**
 * A running drift endpoint returned by {@link serveDrift}.
 *
 * @public
 */
export interface DriftServer {
  /** Starts the transport. */
  start(): Promise<void>;
  /** Number of open sessions. */
  readonly sessions: number;
  /**
   * Closes the transport (sessions get 1001). Nodes are not marked disconnected by a shutdown;
   * close the monitor afterwards to persist their last state.
   */
  close(): Promise<void>;
}

interface SessionState {
  readonly session: DriftSession;
  helloed: boolean;
  timer: TimerHandle | null;
}

/**
 * Binds a transport to a fleet monitor: enforces the hello deadline, checks each `hello` against
 * the authenticated identity, answers with `welcome` (or `error` then a close), replaces an older
 * session of the same node (4409), feeds heartbeats to the monitor and reports disconnects.
 * Transports only authenticate and move frames; this is the protocol logic they share.
 *
 * @example
 * ```ts
 * const monitor = await FleetMonitor.create();
 * const { transport } = createMemoryTransport({ tokens });
 * const server = serveDrift({ transport, monitor });
 * await server.start();
 * ```
 * @public
 */
export function serveDrift(options: ServeDriftOptions): DriftServer {
  const { transport, monitor } = options;
  const clock = monitor.clock;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  if (!Number.isFinite(helloTimeoutMs) || helloTimeoutMs <= 0) {
    throw new PlumblineError(
      'PLB_DRIFT_INVALID_OPTION',
      'helloTimeoutMs must be a positive number',
      {
        details: { option: 'helloTimeoutMs' },
      },
    );
  }
  const limits = options.limits ?? {};
  const sessions = new Map<string, SessionState>();
  const byNode = new Map<string, SessionState>();
  let stopping = false;

  const audit = options.audit;
  const auditLater = (event: Parameters<AuditLogger['emit']>[0]): void => {
    if (audit === undefined) return;
    const failed = (error: unknown): void => {
      try {
        options.onAuditError?.(error);
      } catch {
        // Never let a callback break the endpoint.
      }
    };
    try {
      audit.emit(event).catch(failed);
    } catch (error) {
      failed(error);
    }
  };

  const reject = (rejection: SessionRejection): void => {
    try {
      options.onRejected?.(rejection);
    } catch {
      // Never let a callback break the endpoint.
    }
    if (audit === undefined) return;
    auditLater(
      sessionRejected({
        actor:
          rejection.node_id === undefined
            ? {
                type: 'anonymous',
                id: 'anonymous',
                ...(rejection.remoteAddress === undefined
                  ? {}
                  : { address: rejection.remoteAddress }),
              }
            : {
                type: 'node',
                id: rejection.node_id,
                ...(rejection.remoteAddress === undefined
                  ? {}
                  : { address: rejection.remoteAddress }),
              },
        reason: rejection.reason.slice(0, 1024),
        time: new Date(clock.now()).toISOString(),
        details: {
          reason_code: (REASON_CODES[rejection.code] ?? 'malformed') as 'malformed',
          close_code: rejection.close_code,
          ...(rejection.claimed === undefined
            ? {}
            : {
                claimed_node_id: rejection.claimed.node_id.slice(0, 512),
                claimed_cluster: rejection.claimed.cluster.slice(0, 512),
              }),
        },
      }),
    );
  };

  const refuse = (
    state: SessionState,
    code: string,
    message: string,
    closeCode: number,
    reported = false,
  ): void => {
    if (state.timer !== null) clock.clearTimeout(state.timer);
    state.timer = null;
    const { session } = state;
    if (!reported) {
      reject({
        code,
        reason: message,
        close_code: closeCode,
        node_id: session.identity.node_id,
        cluster: session.identity.cluster,
        principal: session.identity.principal,
        ...(session.remoteAddress === undefined ? {} : { remoteAddress: session.remoteAddress }),
      });
    }
    session.send(encodeFrame({ type: 'error', code, message }));
    session.close(closeCode, code);
  };

  const handleText = (state: SessionState, text: string): void => {
    const { session } = state;
    let parsed;
    try {
      parsed = parseDataPlaneFrame(text, limits);
    } catch (error) {
      const code = PlumblineError.is(error) ? error.code : 'PLB_DRIFT_MALFORMED';
      const closeCode =
        code === 'PLB_DRIFT_FRAME_TOO_BIG' ? DriftCloseCode.FrameTooBig : DriftCloseCode.Malformed;
      monitor.countRejected(code === 'PLB_DRIFT_FRAME_TOO_BIG' ? 'too_big' : 'malformed');
      refuse(state, code, error instanceof Error ? error.message : 'malformed frame', closeCode);
      return;
    }
    if (parsed.kind === 'ignored') return;
    const frame = parsed.frame;
    if (frame.type === 'hello') {
      if (state.helloed) {
        monitor.countRejected('out_of_order');
        refuse(
          state,
          'PLB_DRIFT_OUT_OF_ORDER',
          'a second hello on one session',
          DriftCloseCode.Malformed,
        );
        return;
      }
      const result = monitor.connect(session.identity, frame, session.id);
      if (!result.ok) {
        reject({
          code: result.code,
          reason: result.message,
          close_code: result.close_code,
          node_id: session.identity.node_id,
          cluster: session.identity.cluster,
          principal: session.identity.principal,
          ...(session.remoteAddress === undefined ? {} : { remoteAddress: session.remoteAddress }),
          ...(result.code === 'PLB_DRIFT_IDENTITY_MISMATCH'
            ? { claimed: { node_id: frame.node_id, cluster: frame.cluster } }
            : {}),
        });
        refuse(state, result.code, result.message, result.close_code, true);
        return;
      }
      state.helloed = true;
      if (state.timer !== null) clock.clearTimeout(state.timer);
      state.timer = null;
      const previous = byNode.get(session.identity.node_id);
      byNode.set(session.identity.node_id, state);
      if (previous !== undefined && previous !== state) {
        previous.helloed = false;
        refuse(
          previous,
          'PLB_DRIFT_REPLACED',
          'a newer session of this node replaced this one',
          DriftCloseCode.Replaced,
        );
      }
      auditLater(
        sessionAccepted({
          actor: {
            type: 'node',
            id: session.identity.node_id,
            ...(session.remoteAddress === undefined ? {} : { address: session.remoteAddress }),
          },
          time: new Date(clock.now()).toISOString(),
          details: {
            node_id: session.identity.node_id,
            cluster: session.identity.cluster,
            instance_id: frame.instance_id,
            protocol: frame.protocol.slice(0, 512),
          },
        }),
      );
      session.send(
        encodeFrame({
          type: 'welcome',
          protocol: DRIFT_PROTOCOL,
          heartbeat_interval_ms: monitor.heartbeatIntervalMs,
          server_time: new Date(clock.now()).toISOString(),
        }),
      );
      return;
    }
    if (!state.helloed) {
      monitor.countRejected('out_of_order');
      refuse(
        state,
        'PLB_DRIFT_OUT_OF_ORDER',
        'a heartbeat before the hello',
        DriftCloseCode.Malformed,
      );
      return;
    }
    monitor.heartbeat(session.identity.node_id, session.id, frame);
  };

  const server: DriftServer = {
    get sessions() {
      return sessions.size;
    },
    async start() {
      await transport.start({
        onOpen(session) {
          const state: SessionState = { session, helloed: false, timer: null };
          sessions.set(session.id, state);
          state.timer = clock.setTimeout(() => {
            state.timer = null;
            if (state.helloed || !sessions.has(session.id)) return;
            monitor.countRejected('hello_timeout');
            refuse(
              state,
              'PLB_DRIFT_HELLO_TIMEOUT',
              'no hello in time',
              DriftCloseCode.HelloTimeout,
            );
          }, helloTimeoutMs);
        },
        onMessage(session, text) {
          const state = sessions.get(session.id);
          if (state !== undefined) handleText(state, text);
        },
        onClose(session, code) {
          const state = sessions.get(session.id);
          if (state === undefined) return;
          sessions.delete(session.id);
          if (state.timer !== null) clock.clearTimeout(state.timer);
          state.timer = null;
          const node = session.identity.node_id;
          if (byNode.get(node) === state) {
            byNode.delete(node);
            if (!stopping) monitor.disconnect(node, session.id, code);
          }
        },
        onAuthFailure(failure: DriftAuthFailure) {
          monitor.countRejected('unauthenticated');
          reject({
            code: 'PLB_DRIFT_UNAUTHENTICATED',
            reason: failure.reason,
            close_code: DriftCloseCode.Unauthenticated,
            ...(failure.remoteAddress === undefined
              ? {}
              : { remoteAddress: failure.remoteAddress }),
          });
        },
      });
    },
    async close() {
      stopping = true;
      for (const state of sessions.values()) {
        if (state.timer !== null) clock.clearTimeout(state.timer);
        state.timer = null;
      }
      await transport.close();
    },
  };
  return server;
}
