import type { AuditLogger } from '../audit/index.js';
import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
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
  /** Set when the server itself closes it (a refusal it has already reported). */
  closing?: boolean;
  /** When its last frame arrived (monitor clock). */
  lastFrameAt: number;
  timer: TimerHandle | null;
}

const FAULT = 'PLB_DRIFT_TRANSPORT_FAULT';

/**
 * Closes a transport makes itself when a session breaks one of its limits (an oversized frame, a
 * flood, no hello in time): audited as session refusals, like the ones serveDrift makes.
 */
const TRANSPORT_REFUSALS: ReadonlyMap<number, string> = new Map([
  [DriftCloseCode.FrameTooBig, 'PLB_DRIFT_FRAME_TOO_BIG'],
  [DriftCloseCode.RateLimited, 'PLB_DRIFT_RATE_LIMITED'],
  [DriftCloseCode.HelloTimeout, 'PLB_DRIFT_HELLO_TIMEOUT'],
]);

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
  const endpoint = new DriftEndpoint(options);
  return {
    get sessions() {
      return endpoint.sessions.size;
    },
    collisions: () => endpoint.collisions(),
    start: () => endpoint.start(),
    close: () => endpoint.close(),
  };
}

function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // Never let a callback or a misbehaving transport break the endpoint.
  }
}

/** The sessions of one drift endpoint and the protocol steps: open, hello, heartbeat, close. */
class DriftEndpoint {
  readonly sessions = new Map<string, SessionState>();
  readonly #byNode = new Map<string, SessionState>();
  readonly #options: ServeDriftOptions;
  readonly #monitor: FleetMonitor;
  readonly #clock: FleetMonitor['clock'];
  readonly #helloTimeoutMs: number;
  readonly #limits: FrameLimits;
  readonly #guard: CollisionGuard | null;
  #stopping = false;

  constructor(options: ServeDriftOptions) {
    this.#options = options;
    this.#monitor = options.monitor;
    this.#clock = options.monitor.clock;
    this.#helloTimeoutMs = limitOption(options.helloTimeoutMs, {
      name: 'helloTimeoutMs',
      code: 'PLB_DRIFT_INVALID_OPTION',
      fallback: 10_000,
      integer: false,
    });
    this.#limits = options.limits ?? {};
    this.#guard = options.collision === false ? null : new CollisionGuard(options.collision);
  }

  collisions(): NameCollision[] {
    return this.#guard?.list(this.#clock.now()) ?? [];
  }

  async start(): Promise<void> {
    try {
      await this.#options.transport.start({
        onOpen: (session) => this.#onOpen(session),
        onMessage: (session, text) => this.#onMessage(session, text),
        onClose: (session, code, reason) => this.#onClose(session, code, reason),
        onAuthFailure: (failure) => this.#onAuthFailure(failure),
      });
    } catch (error) {
      if (PlumblineError.is(error)) throw error;
      throw new PlumblineError(FAULT, 'the drift transport could not start', { cause: error });
    }
  }

  /** The transport reports a session over; a close it made for a broken limit is a refusal. */
  #onClose(session: DriftSession, code: number, reason: string | undefined): void {
    const state = this.#stateOf(session);
    if (state === undefined) return;
    const refused = TRANSPORT_REFUSALS.get(code);
    if (refused !== undefined && state.closing !== true) {
      const why = typeof reason === 'string' && reason !== '' ? reason : refused;
      this.#reject(rejectionOf(state, refused, why.slice(0, 123), code));
    }
    this.#finish(state, Number.isInteger(code) ? code : DriftCloseCode.Abnormal);
  }

  async close(): Promise<void> {
    this.#stopping = true;
    for (const state of this.sessions.values()) {
      if (state.timer !== null) this.#clock.clearTimeout(state.timer);
      state.timer = null;
    }
    try {
      await this.#options.transport.close();
    } finally {
      // Sessions the transport never reported closed are over all the same.
      for (const state of [...this.sessions.values()]) this.#finish(state, DriftCloseCode.Shutdown);
    }
  }

  #onOpen(session: DriftSession): void {
    try {
      this.#open(session);
    } catch (error) {
      const state = this.#stateOf(session);
      if (state !== undefined) this.#fault(state, 'opening the session', error);
      else quietly(() => session.close(DriftCloseCode.InternalError, FAULT));
    }
  }

  #onMessage(session: DriftSession, text: string): void {
    const state = this.#stateOf(session);
    if (state === undefined) return;
    state.lastFrameAt = this.#clock.now();
    try {
      this.#handleText(state, text);
    } catch (error) {
      this.#fault(state, 'handling a frame', error);
    }
  }

  #onAuthFailure(failure: DriftAuthFailure): void {
    quietly(() => this.#monitor.countRejected('unauthenticated'));
    const reason = typeof failure?.reason === 'string' ? failure.reason : 'unauthenticated';
    const address = failure?.remoteAddress;
    this.#reject({
      code: 'PLB_DRIFT_UNAUTHENTICATED',
      reason,
      close_code: DriftCloseCode.Unauthenticated,
      ...(typeof address === 'string' ? { remoteAddress: address } : {}),
    });
  }

  #auditLater(event: Parameters<AuditLogger['emit']>[0]): void {
    const audit = this.#options.audit;
    if (audit === undefined) return;
    const failed = (error: unknown): void => quietly(() => this.#options.onAuditError?.(error));
    try {
      audit.emit(event).catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  #reject(rejection: SessionRejection): void {
    quietly(() => this.#options.onRejected?.(rejection));
    this.#auditLater(sessionRejectedEvent(rejection, this.#clock.now()));
  }

  /** The session is over for the server: forget it and tell the monitor, once. */
  #finish(state: SessionState, code: number): void {
    if (state.ended) return;
    state.ended = true;
    if (this.sessions.get(state.session.id) === state) this.sessions.delete(state.session.id);
    if (state.timer !== null) this.#clock.clearTimeout(state.timer);
    state.timer = null;
    const node = state.identity.node_id;
    if (this.#byNode.get(node) === state) {
      this.#byNode.delete(node);
      if (!this.#stopping) quietly(() => this.#monitor.disconnect(node, state.session.id, code));
    }
  }

  /** Refuses a session: reported, an `error` frame, the close, and the session is over. */
  #refuse(
    state: SessionState,
    code: string,
    message: string,
    closeCode: number,
    claimed?: SessionRejection['claimed'],
  ): void {
    if (state.ended) return;
    this.#reject({
      ...rejectionOf(state, code, message, closeCode),
      ...(claimed === undefined ? {} : { claimed }),
    });
    const { session } = state;
    quietly(() => session.send(encodeFrame({ type: 'error', code, message })));
    state.closing = true;
    quietly(() => session.close(closeCode, code));
    this.#finish(state, closeCode);
  }

  #fault(state: SessionState, where: string, error: unknown): void {
    quietly(() => this.#monitor.countRejected('transport_fault'));
    this.#refuse(state, FAULT, faultReason(where, error), DriftCloseCode.InternalError);
  }

  /** Refuses a newcomer while its name is held by a live session (a replacement loop). */
  #collides(state: SessionState): boolean {
    const guard = this.#guard;
    const holder = this.#byNode.get(state.identity.node_id);
    if (guard === null || holder === undefined || holder === state) return false;
    const now = this.#clock.now();
    if (now - holder.lastFrameAt > 2 * this.#monitor.heartbeatIntervalMs) return false;
    if (!guard.refuses(state.identity.node_id, now, state.remoteAddress)) return false;
    quietly(() => this.#monitor.countRejected('name_collision'));
    this.#refuse(
      state,
      'PLB_DRIFT_NAME_COLLISION',
      `another data plane is connected as ${state.identity.node_id.slice(0, 128)}: two data planes share this name`,
      DriftCloseCode.IdentityMismatch,
    );
    return true;
  }

  #noteReplacement(previous: SessionState, state: SessionState): void {
    const guard = this.#guard;
    if (guard === null || !previous.helloed) return;
    const node = state.identity.node_id;
    const now = (): number => this.#clock.now();
    const before = guard.list(now()).some((c) => c.node_id === node);
    const looping = guard.replaced(node, now(), [previous.remoteAddress, state.remoteAddress]);
    if (looping && !before) {
      const collision = guard.list(now()).find((c) => c.node_id === node);
      if (collision !== undefined) quietly(() => this.#options.onCollision?.(collision));
    }
  }

  /** A valid `hello`: the monitor's verdict, then `welcome` (replacing an older session) or a refusal. */
  #accept(state: SessionState, frame: HelloFrame): void {
    const { session, identity } = state;
    if (this.#collides(state)) return;
    const connectOptions = session.awaitsFirstReport === true ? { awaitingReport: true } : {};
    const result = this.#monitor.connect(identity, frame, session.id, connectOptions);
    if (!result.ok) {
      const claimed =
        result.code === 'PLB_DRIFT_IDENTITY_MISMATCH'
          ? { node_id: frame.node_id, cluster: frame.cluster }
          : undefined;
      this.#refuse(state, result.code, result.message, result.close_code, claimed);
      return;
    }
    state.helloed = true;
    if (state.timer !== null) this.#clock.clearTimeout(state.timer);
    state.timer = null;
    const previous = this.#byNode.get(identity.node_id);
    this.#byNode.set(identity.node_id, state);
    if (previous !== undefined && previous !== state) {
      this.#noteReplacement(previous, state);
      this.#refuse(
        previous,
        'PLB_DRIFT_REPLACED',
        'a newer session of this node replaced this one',
        DriftCloseCode.Replaced,
      );
    }
    const now = this.#clock.now();
    this.#auditLater(sessionAcceptedEvent(identity, state.remoteAddress, frame, now));
    session.send(
      encodeFrame({
        type: 'welcome',
        protocol: DRIFT_PROTOCOL,
        heartbeat_interval_ms: this.#monitor.heartbeatIntervalMs,
        server_time: new Date(this.#clock.now()).toISOString(),
      }),
    );
  }

  /** One text frame: parsed within the limits, then hello first and heartbeats after it. */
  #handleText(state: SessionState, text: string): void {
    const monitor = this.#monitor;
    let parsed;
    try {
      parsed = parseDataPlaneFrame(text, this.#limits);
    } catch (error) {
      const code = PlumblineError.is(error) ? error.code : 'PLB_DRIFT_MALFORMED';
      const tooBig = code === 'PLB_DRIFT_FRAME_TOO_BIG';
      monitor.countRejected(tooBig ? 'too_big' : 'malformed');
      const message = error instanceof Error ? error.message : 'malformed frame';
      const closeCode = tooBig ? DriftCloseCode.FrameTooBig : DriftCloseCode.Malformed;
      this.#refuse(state, code, message, closeCode);
      return;
    }
    if (parsed.kind === 'ignored') return;
    const frame = parsed.frame;
    if (frame.type === 'hello' && !state.helloed) {
      this.#accept(state, frame);
      return;
    }
    if (frame.type === 'hello' || !state.helloed) {
      monitor.countRejected('out_of_order');
      const message = state.helloed
        ? 'a second hello on one session'
        : 'a heartbeat before the hello';
      this.#refuse(state, 'PLB_DRIFT_OUT_OF_ORDER', message, DriftCloseCode.Malformed);
      return;
    }
    monitor.heartbeat(state.identity.node_id, state.session.id, frame);
  }

  /** A session the transport opened: tracked, with its hello deadline, or refused at once. */
  #open(session: DriftSession): void {
    const identity = identityOf(session);
    const id = (session as { id?: unknown }).id;
    if (identity === undefined || typeof id !== 'string' || id === '' || this.sessions.has(id)) {
      this.#refuseUntracked(session, identity);
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
      lastFrameAt: this.#clock.now(),
      timer: null,
    };
    this.sessions.set(id, state);
    if (this.#stopping) {
      this.#refuse(state, 'PLB_DRIFT_SHUTDOWN', 'the control plane is shutting down', 1001);
      return;
    }
    state.timer = this.#clock.setTimeout(() => {
      state.timer = null;
      if (state.helloed || state.ended) return;
      this.#monitor.countRejected('hello_timeout');
      this.#refuse(
        state,
        'PLB_DRIFT_HELLO_TIMEOUT',
        'no hello in time',
        DriftCloseCode.HelloTimeout,
      );
    }, this.#helloTimeoutMs);
  }

  /** Not a session the server can track: refuse it without touching any other. */
  #refuseUntracked(session: DriftSession, identity: DriftIdentity | undefined): void {
    quietly(() => this.#monitor.countRejected('transport_fault'));
    this.#reject({
      code: FAULT,
      reason:
        identity === undefined
          ? 'the transport opened a session without a valid identity'
          : 'the transport opened a session with an invalid or duplicate id',
      close_code: DriftCloseCode.InternalError,
      ...(identity === undefined ? {} : { principal: identity.principal }),
    });
    quietly(() => session.close(DriftCloseCode.InternalError, FAULT));
  }

  /** The state of a session the transport talks about, or `undefined` for one that is over. */
  #stateOf(session: DriftSession): SessionState | undefined {
    const id = (session as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? this.sessions.get(id) : undefined;
  }
}

function rejectionOf(
  state: SessionState,
  code: string,
  reason: string,
  close_code: number,
): SessionRejection {
  return {
    code,
    reason,
    close_code,
    node_id: state.identity.node_id,
    cluster: state.identity.cluster,
    principal: state.identity.principal,
    ...(state.remoteAddress === undefined ? {} : { remoteAddress: state.remoteAddress }),
  };
}
