import type { AuditLogger } from '../audit/index.js';
import { PlumblineError } from '../errors.js';
import { CollisionGuard, type CollisionOptions, type NameCollision } from './collision.js';
import type { TimerHandle } from './clock.js';
import type { FleetMonitor } from './monitor.js';
import {
  DRIFT_PROTOCOL,
  DriftCloseCode,
  encodeFrame,
  parseDataPlaneFrame,
  type FrameLimits,
  type HelloFrame,
} from './protocol.js';
import {
  sessionAcceptedEvent,
  sessionRejectedEvent,
  type SessionRejection,
} from './session-audit.js';
import type { DriftAuthFailure, DriftIdentity, DriftSession, DriftTransport } from './transport.js';

export type { SessionRejection } from './session-audit.js';

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
  /**
   * Detection of two data planes sharing one identity (each replacing the other, 4409, in a
   * loop). Once detected, the live session keeps the name and newcomers are refused with 4403
   * (`PLB_DRIFT_NAME_COLLISION`) until the hold expires; `false` turns detection off.
   */
  readonly collision?: CollisionOptions | false;
  /** Called once when a replacement loop is detected on a node name. */
  readonly onCollision?: (collision: NameCollision) => void;
}

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
  /** Node names two or more data planes use at once (held for the session that has them). */
  collisions(): NameCollision[];
  /**
   * Closes the transport (sessions get 1001). Nodes are not marked disconnected by a shutdown;
   * close the monitor afterwards to persist their last state.
   */
  close(): Promise<void>;
}

interface SessionState {
  readonly session: DriftSession;
  /** The identity as authenticated when the session opened (what the transport says later is ignored). */
  readonly identity: DriftIdentity;
  readonly remoteAddress: string | undefined;
  helloed: boolean;
  /** Set once the session is over for the server: closed by it, or reported closed. */
  ended: boolean;
  /** When its last frame arrived (monitor clock). */
  lastFrameAt: number;
  timer: TimerHandle | null;
}

const FAULT = 'PLB_DRIFT_TRANSPORT_FAULT';

/** A copy of the session's identity, or `undefined` when the transport gave none usable. */
function identityOf(session: DriftSession): DriftIdentity | undefined {
  const identity = (session as { identity?: unknown }).identity as Partial<DriftIdentity> | null;
  if (typeof identity !== 'object' || identity === null) return undefined;
  const { node_id, cluster, principal } = identity;
  if (typeof node_id !== 'string' || node_id === '' || typeof cluster !== 'string')
    return undefined;
  if (cluster === '' || typeof principal !== 'string') return undefined;
  return Object.freeze({ node_id, cluster, principal });
}

/** Words for a fault, never the error's own message (it may hold anything). */
function faultReason(where: string, error: unknown): string {
  const code = PlumblineError.is(error) ? ` (${error.code})` : '';
  return `${where} failed${code}`;
}

/**
 * Binds a transport to a fleet monitor: enforces the hello deadline, checks each `hello` against
 * the authenticated identity, answers with `welcome` (or `error` then a close), replaces an older
 * session of the same node (4409), feeds heartbeats to the monitor and reports disconnects.
 * Transports only authenticate and move frames; this is the protocol logic they share, and the
 * one place where `session.accepted` and `session.rejected` are written.
 *
 * It survives a misbehaving transport or monitor: a session without a usable identity, a thrown
 * error while handling a session, a close reported twice or never. Such a session is closed with
 * 1011 (`PLB_DRIFT_TRANSPORT_FAULT`, audited), its node is marked disconnected, and the other
 * sessions are served as before. A session the server closes itself is over for it at once; a
 * later `onClose` for it is ignored.
 *
 * @example
 * ```ts
 * const monitor = await FleetMonitor.create();
 * const { transport } = createMemoryTransport({ tokens });
 * const server = serveDrift({ transport, monitor });
 * await server.start();
 * ```
 * @throws {@link PlumblineError} `PLB_DRIFT_INVALID_OPTION` for an invalid `helloTimeoutMs`;
 *   `start()` rejects with `PLB_DRIFT_TRANSPORT_FAULT` when the transport cannot start.
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
  const guard = options.collision === false ? null : new CollisionGuard(options.collision);
  const sessions = new Map<string, SessionState>();
  const byNode = new Map<string, SessionState>();
  let stopping = false;

  const quietly = (run: () => void): void => {
    try {
      run();
    } catch {
      // Never let a callback or a misbehaving transport break the endpoint.
    }
  };

  const audit = options.audit;
  const auditLater = (event: Parameters<AuditLogger['emit']>[0]): void => {
    if (audit === undefined) return;
    const failed = (error: unknown): void => quietly(() => options.onAuditError?.(error));
    try {
      audit.emit(event).catch(failed);
    } catch (error) {
      failed(error);
    }
  };

  const reject = (rejection: SessionRejection): void => {
    quietly(() => options.onRejected?.(rejection));
    auditLater(sessionRejectedEvent(rejection, clock.now()));
  };

  /** The session is over for the server: forget it and tell the monitor, once. */
  const finish = (state: SessionState, code: number): void => {
    if (state.ended) return;
    state.ended = true;
    if (sessions.get(state.session.id) === state) sessions.delete(state.session.id);
    if (state.timer !== null) clock.clearTimeout(state.timer);
    state.timer = null;
    const node = state.identity.node_id;
    if (byNode.get(node) === state) {
      byNode.delete(node);
      if (!stopping) quietly(() => monitor.disconnect(node, state.session.id, code));
    }
  };

  const rejectionOf = (
    state: SessionState,
    code: string,
    reason: string,
    close_code: number,
  ): SessionRejection => ({
    code,
    reason,
    close_code,
    node_id: state.identity.node_id,
    cluster: state.identity.cluster,
    principal: state.identity.principal,
    ...(state.remoteAddress === undefined ? {} : { remoteAddress: state.remoteAddress }),
  });

  const refuse = (
    state: SessionState,
    code: string,
    message: string,
    closeCode: number,
    claimed?: SessionRejection['claimed'],
  ): void => {
    if (state.ended) return;
    reject({
      ...rejectionOf(state, code, message, closeCode),
      ...(claimed === undefined ? {} : { claimed }),
    });
    const { session } = state;
    quietly(() => session.send(encodeFrame({ type: 'error', code, message })));
    quietly(() => session.close(closeCode, code));
    finish(state, closeCode);
  };

  const fault = (state: SessionState, where: string, error: unknown): void => {
    quietly(() => monitor.countRejected('transport_fault'));
    refuse(state, FAULT, faultReason(where, error), DriftCloseCode.InternalError);
  };

  /** Refuses a newcomer while its name is held by a live session (a replacement loop). */
  const collides = (state: SessionState): boolean => {
    const holder = byNode.get(state.identity.node_id);
    if (guard === null || holder === undefined || holder === state) return false;
    const now = clock.now();
    if (now - holder.lastFrameAt > 2 * monitor.heartbeatIntervalMs) return false;
    if (!guard.refuses(state.identity.node_id, now, state.remoteAddress)) return false;
    quietly(() => monitor.countRejected('name_collision'));
    refuse(
      state,
      'PLB_DRIFT_NAME_COLLISION',
      `another data plane is connected as ${state.identity.node_id.slice(0, 128)}: two data planes share this name`,
      DriftCloseCode.IdentityMismatch,
    );
    return true;
  };

  const noteReplacement = (previous: SessionState, state: SessionState): void => {
    if (guard === null || !previous.helloed) return;
    const node = state.identity.node_id;
    const before = guard.list(clock.now()).some((c) => c.node_id === node);
    const looping = guard.replaced(node, clock.now(), [
      previous.remoteAddress,
      state.remoteAddress,
    ]);
    if (looping && !before) {
      const collision = guard.list(clock.now()).find((c) => c.node_id === node);
      if (collision !== undefined) quietly(() => options.onCollision?.(collision));
    }
  };

  const accept = (state: SessionState, frame: HelloFrame): void => {
    const { session, identity } = state;
    if (collides(state)) return;
    const connectOptions = session.awaitsFirstReport === true ? { awaitingReport: true } : {};
    const result = monitor.connect(identity, frame, session.id, connectOptions);
    if (!result.ok) {
      const claimed =
        result.code === 'PLB_DRIFT_IDENTITY_MISMATCH'
          ? { node_id: frame.node_id, cluster: frame.cluster }
          : undefined;
      refuse(state, result.code, result.message, result.close_code, claimed);
      return;
    }
    state.helloed = true;
    if (state.timer !== null) clock.clearTimeout(state.timer);
    state.timer = null;
    const previous = byNode.get(identity.node_id);
    byNode.set(identity.node_id, state);
    if (previous !== undefined && previous !== state) {
      noteReplacement(previous, state);
      refuse(
        previous,
        'PLB_DRIFT_REPLACED',
        'a newer session of this node replaced this one',
        DriftCloseCode.Replaced,
      );
    }
    auditLater(sessionAcceptedEvent(identity, state.remoteAddress, frame, clock.now()));
    session.send(
      encodeFrame({
        type: 'welcome',
        protocol: DRIFT_PROTOCOL,
        heartbeat_interval_ms: monitor.heartbeatIntervalMs,
        server_time: new Date(clock.now()).toISOString(),
      }),
    );
  };

  const handleText = (state: SessionState, text: string): void => {
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
      accept(state, frame);
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
    monitor.heartbeat(state.identity.node_id, state.session.id, frame);
  };

  const open = (session: DriftSession): void => {
    const identity = identityOf(session);
    const id = (session as { id?: unknown }).id;
    if (identity === undefined || typeof id !== 'string' || id === '' || sessions.has(id)) {
      // Not a session the server can track: refuse it without touching any other.
      quietly(() => monitor.countRejected('transport_fault'));
      reject({
        code: FAULT,
        reason:
          identity === undefined
            ? 'the transport opened a session without a valid identity'
            : 'the transport opened a session with an invalid or duplicate id',
        close_code: DriftCloseCode.InternalError,
        ...(identity === undefined ? {} : { principal: identity.principal }),
      });
      quietly(() => session.close(DriftCloseCode.InternalError, FAULT));
      return;
    }
    const remoteAddress =
      typeof session.remoteAddress === 'string' ? session.remoteAddress : undefined;
    const state: SessionState = {
      session,
      identity,
      remoteAddress,
      helloed: false,
      ended: false,
      lastFrameAt: clock.now(),
      timer: null,
    };
    sessions.set(id, state);
    if (stopping) {
      refuse(state, 'PLB_DRIFT_SHUTDOWN', 'the control plane is shutting down', 1001);
      return;
    }
    state.timer = clock.setTimeout(() => {
      state.timer = null;
      if (state.helloed || state.ended) return;
      monitor.countRejected('hello_timeout');
      refuse(state, 'PLB_DRIFT_HELLO_TIMEOUT', 'no hello in time', DriftCloseCode.HelloTimeout);
    }, helloTimeoutMs);
  };

  /** The state of a session the transport talks about, or `undefined` for one that is over. */
  const stateOf = (session: DriftSession): SessionState | undefined => {
    const id = (session as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? sessions.get(id) : undefined;
  };

  return {
    get sessions() {
      return sessions.size;
    },
    collisions: () => guard?.list(clock.now()) ?? [],
    async start() {
      try {
        await transport.start({
          onOpen(session) {
            try {
              open(session);
            } catch (error) {
              const state = stateOf(session);
              if (state !== undefined) fault(state, 'opening the session', error);
              else quietly(() => session.close(DriftCloseCode.InternalError, FAULT));
            }
          },
          onMessage(session, text) {
            const state = stateOf(session);
            if (state === undefined) return;
            state.lastFrameAt = clock.now();
            try {
              handleText(state, text);
            } catch (error) {
              fault(state, 'handling a frame', error);
            }
          },
          onClose(session, code) {
            const state = stateOf(session);
            if (state === undefined) return;
            finish(state, Number.isInteger(code) ? code : DriftCloseCode.Abnormal);
          },
          onAuthFailure(failure: DriftAuthFailure) {
            quietly(() => monitor.countRejected('unauthenticated'));
            const reason = typeof failure?.reason === 'string' ? failure.reason : 'unauthenticated';
            const address = failure?.remoteAddress;
            reject({
              code: 'PLB_DRIFT_UNAUTHENTICATED',
              reason,
              close_code: DriftCloseCode.Unauthenticated,
              ...(typeof address === 'string' ? { remoteAddress: address } : {}),
            });
          },
        });
      } catch (error) {
        if (PlumblineError.is(error)) throw error;
        throw new PlumblineError(FAULT, 'the drift transport could not start', { cause: error });
      }
    },
    async close() {
      stopping = true;
      for (const state of sessions.values()) {
        if (state.timer !== null) clock.clearTimeout(state.timer);
        state.timer = null;
      }
      try {
        await transport.close();
      } finally {
        // Sessions the transport never reported closed are over all the same.
        for (const state of [...sessions.values()]) finish(state, DriftCloseCode.Shutdown);
      }
    },
  };
}
