import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import type { DigestString } from '../hash/digest.js';
import { SDK_ID } from '../version.js';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import type { MonitorLogger } from './monitor-types.js';
import {
  DRIFT_PROTOCOL,
  DRIFT_PROTOCOL_V1_1,
  DriftCloseCode,
  encodeFrame,
  parseControlPlaneFrame,
  type LiveConfigReport,
  type VerificationReasonReport,
  type LoadError,
  type ReportedProvenance,
  type WorkerReport,
} from './protocol.js';
import type { DriftChannel, DriftConnection } from './transport.js';
import type { LoadedArtifactSnapshot, LoadedArtifactSource } from '../verify/registry.js';

/**
 * What a data plane runs right now: the artifact it *loaded* (effective, not merely on disk),
 * per worker when it has several, and its last failed load. A `LoadedArtifact` record from
 * load-time verification maps onto it field by field.
 *
 * @public
 */
export interface ReportedState {
  /** The artifact loaded; `null` when none is loaded. */
  readonly artifact_hash: DigestString | null;
  /**
   * The provenance of `artifact_hash`; `null` or absent when unknown. Sent only in `hello`:
   * reporting another hash with provenance starts a new session.
   */
  readonly provenance?: ReportedProvenance | null;
  /** When it was loaded (RFC 3339). */
  readonly loaded_at?: string | null;
  /** The artifact each worker loaded, for a gateway with several workers; absent otherwise. */
  readonly workers?: readonly WorkerReport[];
  /** The last failed load (sent in heartbeats); `null` or absent when none. */
  readonly last_load_error?: LoadError | null;
  /**
   * What a live-configuration probe found (protocol v1.1, sent in `hello` and heartbeats; the
   * hello then announces `plumbline.drift/v1.1`); `null` or absent without a probe.
   */
  readonly live_config?: LiveConfigReport | null;
  /**
   * The checks that failed on `artifact_hash`'s artifact and that the `warn` policy tolerated
   * (protocol v1.1, sent in `hello` and heartbeats); absent or empty when none.
   */
  readonly verification_reasons?: readonly VerificationReasonReport[];
}

/**
 * Reconnect backoff: exponential with full jitter (`random() * min(maxMs, initialMs * 2^attempt)`).
 * After the control plane refuses the node's identity (close code 4401 or 4403, or an HTTP 401/403
 * answer), the reporter logs why and waits `maxMs` before it tries again.
 *
 * @public
 */
export interface BackoffOptions {
  /** First delay cap. Default 500 ms. */
  readonly initialMs?: number;
  /** Largest delay cap. Default 30,000 ms. */
  readonly maxMs?: number;
}

/**
 * The reporter's connection status.
 *
 * @public
 */
export type ReporterStatus = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

/**
 * Counters of a {@link DataPlaneReporter}.
 *
 * @public
 */
export interface ReporterStats {
  /** The connection status (as {@link DataPlaneReporter.status}). */
  readonly status: ReporterStatus;
  /** Connections that received a `welcome`. */
  readonly sessions: number;
  /** Connection attempts that failed or ended. */
  readonly failures: number;
  /** Heartbeats sent. */
  readonly heartbeats: number;
  /** The last error code (from the control plane's `error` frame or a failed connect). */
  readonly lastErrorCode: string | null;
  /** The last close code. */
  readonly lastCloseCode: number | null;
  /** Errors caught inside the reporter (a throwing source, a bad frame). */
  readonly caught: number;
}

/**
 * Options of {@link DataPlaneReporter}.
 *
 * @public
 */
export interface DataPlaneReporterOptions {
  /** The data-plane side of a transport. */
  readonly channel: DriftChannel;
  /**
   * This data plane's node id, sent in `hello`; it must match the authenticated identity (else the
   * session is closed with 4403).
   */
  readonly node_id: string;
  /** Its cluster, sent in `hello`; it must match the authenticated identity too. */
  readonly cluster: string;
  /**
   * Reads the current state at each hello and heartbeat. Optional when {@link DataPlaneReporter.report}
   * pushes state instead. A source that throws is caught; the last good state is sent.
   */
  readonly source?: () => ReportedState;
  /**
   * Reads state from a `LoadedArtifactRegistry` (or any `LoadedArtifactSource` from
   * `@plumbline/core/verify`): its snapshot at each hello and heartbeat, and an immediate heartbeat
   * after every change it announces. Its `instance_id` is used unless `instance_id` is given.
   */
  readonly loaded?: LoadedArtifactSource;
  /** State before the first `report` (when there is no source). Default: nothing loaded. */
  readonly initialState?: ReportedState;
  /** Per process start; default a random UUID. */
  readonly instance_id?: string;
  /** Heartbeat interval until a `welcome` says otherwise. Default 5,000 ms. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Close and reconnect when no `welcome` arrives in this time after the hello; also the longest
   * wait for the channel's `connect` to settle (then the attempt is aborted, `PLB_DRIFT_CONNECT`).
   * Default 10,000 ms.
   */
  readonly welcomeTimeoutMs?: number;
  /** Reconnect backoff. Default 500 ms initial, 30,000 ms maximum. */
  readonly backoff?: BackoffOptions;
  /** Timers for heartbeats, backoff and the welcome timeout. Default `systemClock`. */
  readonly clock?: Clock;
  /** Uniform random number in [0, 1) for jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Where caught errors are reported (never secrets). */
  readonly logger?: MonitorLogger;
  /** The `sdk` field of the hello. Default `@plumbline/core@<version>`. */
  readonly sdk?: string;
}

/** The reporter's durations: positive milliseconds (`limitOption`, `PLB_DRIFT_INVALID_OPTION`). */
const MS_OPTION = { code: 'PLB_DRIFT_INVALID_OPTION', integer: false } as const;

/**
 * Sends `hello` and `heartbeat`s for one data plane over a {@link DriftChannel}: reconnects with
 * exponential backoff and full jitter, re-sends its state after each reconnect, keeps only the
 * latest state while disconnected, and never throws into the gateway or blocks its request path.
 *
 * @example
 * ```ts
 * const reporter = new DataPlaneReporter({
 *   channel, node_id: 'gw-1', cluster: 'prod',
 *   source: () => ({ artifact_hash: loaded.artifact_hash, provenance: loaded.provenance, loaded_at: loaded.loaded_at }),
 * });
 * reporter.start();
 * // after a reload:
 * reporter.report({ artifact_hash: next.artifact_hash, loaded_at: next.loaded_at });
 * ```
 * @public
 */
export class DataPlaneReporter {
  readonly #options: DataPlaneReporterOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #welcomeTimeoutMs: number;
  /**
   * The `instance_id` sent in every `hello`: the `instance_id` option, else the `loaded` source's,
   * else a random UUID.
   */
  readonly instance_id: string;
  #intervalMs: number;
  #state: ReportedState;
  #status: ReporterStatus = 'idle';
  #connection: DriftConnection | null = null;
  /** The session a reload is replacing, closed once the new one is welcomed. */
  #previous: DriftConnection | null = null;
  /** The artifact hash the current session's `hello` announced (with its provenance). */
  #helloHash: string | null = null;
  #welcomed = false;
  #attempt = 0;
  #seq = 0;
  #timer: TimerHandle | null = null;
  #abort: AbortController | null = null;
  #generation = 0;
  #sessions = 0;
  #failures = 0;
  #heartbeats = 0;
  #caught = 0;
  #lastErrorCode: string | null = null;
  #lastCloseCode: number | null = null;
  #unsubscribe: (() => void) | null = null;

  /**
   * @throws {@link PlumblineError} `PLB_DRIFT_INVALID_OPTION` for an option out of range.
   */
  constructor(options: DataPlaneReporterOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#initialMs = limitOption(options.backoff?.initialMs ?? 500, {
      ...MS_OPTION,
      name: 'backoff.initialMs',
    });
    this.#maxMs = limitOption(options.backoff?.maxMs ?? 30_000, {
      ...MS_OPTION,
      name: 'backoff.maxMs',
    });
    this.#welcomeTimeoutMs = limitOption(options.welcomeTimeoutMs ?? 10_000, {
      ...MS_OPTION,
      name: 'welcomeTimeoutMs',
    });
    this.#intervalMs = limitOption(options.heartbeatIntervalMs ?? 5000, {
      ...MS_OPTION,
      name: 'heartbeatIntervalMs',
    });
    const loaded = options.loaded;
    this.instance_id =
      options.instance_id ??
      (loaded === undefined ? crypto.randomUUID() : loaded.snapshot().instance_id);
    this.#state =
      options.initialState ??
      (loaded === undefined ? { artifact_hash: null } : stateFromSnapshot(loaded.snapshot()));
  }

  /** The connection status. */
  get status(): ReporterStatus {
    return this.#status;
  }

  /** The heartbeat interval in use (from the last `welcome`). */
  get heartbeatIntervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Starts connecting. Idempotent; returns at once.
   *
   * @example
   * ```ts
   * reporter.start();
   * ```
   */
  start(): void {
    if (this.#status !== 'idle') return;
    const loaded = this.#options.loaded;
    if (loaded?.subscribe !== undefined) {
      try {
        this.#unsubscribe = loaded.subscribe((snapshot) =>
          this.report(stateFromSnapshot(snapshot)),
        );
      } catch (error) {
        this.#catch('subscribing to the loaded-artifact source failed', error);
      }
    }
    this.#connect();
  }

  /**
   * Records the latest state (replacing any earlier one) and, when connected, sends a heartbeat
   * at once so the control plane learns of a reload without waiting for the next interval.
   * Never throws.
   *
   * @example
   * ```ts
   * reporter.report({ artifact_hash, loaded_at: new Date().toISOString() });
   * ```
   */
  report(state: ReportedState): void {
    this.#state = state;
    if (this.#status !== 'connected' || !this.#welcomed) return;
    // Provenance travels only in `hello`: a reload of another artifact that has provenance starts
    // a new session (same instance, so `seq` keeps rising); the control plane replaces the old one
    // (4409) without the node ever counting as disconnected.
    if (state.artifact_hash !== this.#helloHash && state.provenance != null) this.#renew();
    else this.#sendHeartbeat();
  }

  #renew(): void {
    this.#closePrevious();
    this.#previous = this.#connection;
    this.#connection = null;
    this.#clearTimer();
    this.#connect();
  }

  #closePrevious(): void {
    const previous = this.#previous;
    this.#previous = null;
    if (previous === null) return;
    try {
      previous.close(DriftCloseCode.Replaced, 'replaced by a new session');
    } catch (error) {
      this.#catch('closing the connection failed', error);
    }
  }

  /**
   * The reporter's counters.
   *
   * @example
   * ```ts
   * if (reporter.stats().lastErrorCode === 'PLB_DRIFT_UNAUTHENTICATED') console.warn('check the token');
   * ```
   */
  stats(): ReporterStats {
    return {
      status: this.#status,
      sessions: this.#sessions,
      failures: this.#failures,
      heartbeats: this.#heartbeats,
      lastErrorCode: this.#lastErrorCode,
      lastCloseCode: this.#lastCloseCode,
      caught: this.#caught,
    };
  }

  /**
   * Stops reporting: cancels timers and any connection attempt, and closes the connection (1001).
   * Idempotent.
   *
   * @example
   * ```ts
   * await reporter.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    this.#generation++;
    try {
      this.#unsubscribe?.();
    } catch (error) {
      this.#catch('unsubscribing from the loaded-artifact source failed', error);
    }
    this.#unsubscribe = null;
    this.#clearTimer();
    this.#abort?.abort();
    this.#abort = null;
    this.#closePrevious();
    const connection = this.#connection;
    this.#connection = null;
    if (connection !== null) {
      try {
        connection.close(DriftCloseCode.Shutdown, 'shutdown');
      } catch (error) {
        this.#catch('closing the connection failed', error);
      }
    }
  }

  #current(): ReportedState {
    const { source, loaded } = this.#options;
    try {
      if (source !== undefined) this.#state = source();
      else if (loaded !== undefined) this.#state = stateFromSnapshot(loaded.snapshot());
    } catch (error) {
      this.#catch('the state source threw', error);
    }
    return this.#state;
  }

  #catch(message: string, error: unknown): void {
    this.#caught++;
    try {
      this.#options.logger?.warn(message, {
        code: PlumblineError.is(error) ? error.code : undefined,
        error: error instanceof Error ? error.message : String(error),
      });
    } catch {
      // A logger never throws into the gateway.
    }
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #connect(): void {
    this.#status = 'connecting';
    this.#welcomed = false;
    const generation = ++this.#generation;
    const abort = new AbortController();
    this.#abort = abort;
    // A channel whose connect never settles is given up after the welcome timeout. Set before
    // connect is called: a close reported during the call replaces it with the backoff timer.
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (generation !== this.#generation || this.#status !== 'connecting') return;
      this.#generation++;
      abort.abort();
      this.#connectFailed(
        new PlumblineError('PLB_DRIFT_CONNECT', 'the connection did not open in time'),
      );
    }, this.#welcomeTimeoutMs);
    this.#open(generation, abort.signal).then(
      (connection) => this.#opened(generation, connection),
      (error: unknown) => {
        if (generation === this.#generation) this.#connectFailed(error);
      },
    );
  }

  /** Calls the channel's connect; whatever it does (throw, return no promise) becomes a promise. */
  #open(generation: number, signal: AbortSignal): Promise<unknown> {
    let opened: unknown;
    try {
      opened = this.#options.channel.connect(
        {
          onMessage: (text) => {
            if (generation === this.#generation) this.#onMessage(text);
          },
          onClose: (code) => {
            if (generation === this.#generation) this.#onClose(code);
          },
        },
        signal,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    if (typeof (opened as PromiseLike<unknown> | null)?.then !== 'function') {
      return Promise.reject(transportFault("the channel's connect returned no promise"));
    }
    return Promise.resolve(opened);
  }

  #opened(generation: number, opened: unknown): void {
    if (!isConnection(opened)) {
      if (generation === this.#generation) {
        this.#connectFailed(transportFault("the channel's connect resolved without a connection"));
      }
      return;
    }
    const connection = opened;
    if (generation !== this.#generation) {
      try {
        connection.close(DriftCloseCode.Shutdown, 'shutdown');
      } catch (error) {
        this.#catch('closing the connection failed', error);
      }
      return;
    }
    this.#abort = null;
    this.#connection = connection;
    this.#status = 'connected';
    this.#sendHello();
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (!this.#welcomed) {
        this.#lastErrorCode = 'PLB_DRIFT_HELLO_TIMEOUT';
        this.#drop(DriftCloseCode.HelloTimeout, 'no welcome');
      }
    }, this.#welcomeTimeoutMs);
  }

  #connectFailed(error: unknown): void {
    this.#abort = null;
    this.#clearTimer();
    this.#lastErrorCode = PlumblineError.is(error) ? error.code : 'PLB_DRIFT_CONNECT';
    this.#failures++;
    if (this.#lastErrorCode === 'PLB_DRIFT_UNAUTHENTICATED') {
      this.#caught++;
      this.#refused(DriftCloseCode.Unauthenticated);
      return;
    }
    this.#catch('connecting to the control plane failed', error);
    this.#backoff();
  }

  #send(text: string): void {
    try {
      this.#connection?.send(text);
    } catch (error) {
      this.#catch('sending a frame failed', error);
    }
  }

  #sendHello(): void {
    const state = this.#current();
    this.#helloHash = state.artifact_hash;
    this.#send(
      encodeFrame({
        type: 'hello',
        protocol:
          state.live_config == null && !hasReasons(state) ? DRIFT_PROTOCOL : DRIFT_PROTOCOL_V1_1,
        node_id: this.#options.node_id,
        cluster: this.#options.cluster,
        instance_id: this.instance_id,
        artifact_hash: state.artifact_hash,
        provenance: state.provenance == null ? null : clampProvenance(state.provenance),
        loaded_at: state.loaded_at ?? null,
        sdk: this.#options.sdk ?? SDK_ID,
        ...(state.workers === undefined ? {} : { workers: [...state.workers] }),
        ...(state.live_config == null ? {} : { live_config: state.live_config }),
        ...(hasReasons(state) ? { verification_reasons: clampReasons(state) } : {}),
      }),
    );
  }

  #sendHeartbeat(): void {
    const state = this.#current();
    this.#seq++;
    this.#heartbeats++;
    this.#send(
      encodeFrame({
        type: 'heartbeat',
        seq: this.#seq,
        artifact_hash: state.artifact_hash,
        loaded_at: state.loaded_at ?? null,
        ...(state.workers === undefined ? {} : { workers: [...state.workers] }),
        ...(state.last_load_error == null
          ? {}
          : { last_load_error: clampLoadError(state.last_load_error) }),
        ...(state.live_config == null ? {} : { live_config: state.live_config }),
        ...(hasReasons(state) ? { verification_reasons: clampReasons(state) } : {}),
      }),
    );
    this.#scheduleHeartbeat();
  }

  #scheduleHeartbeat(): void {
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (this.#status === 'connected' && this.#welcomed) this.#sendHeartbeat();
    }, this.#intervalMs);
  }

  #onMessage(text: string): void {
    let parsed;
    try {
      parsed = parseControlPlaneFrame(text);
    } catch (error) {
      this.#catch('the control plane sent a malformed frame', error);
      return;
    }
    if (parsed.kind === 'ignored') return;
    const frame = parsed.frame;
    if (frame.type === 'error') {
      this.#lastErrorCode = frame.code;
      return;
    }
    if (this.#welcomed) return;
    this.#welcomed = true;
    this.#closePrevious();
    this.#attempt = 0;
    this.#sessions++;
    this.#lastErrorCode = null;
    this.#intervalMs = frame.heartbeat_interval_ms;
    this.#scheduleHeartbeat();
  }

  #onClose(code: number): void {
    this.#lastCloseCode = code;
    this.#connection = null;
    this.#clearTimer();
    if (this.#status === 'closed') return;
    if (!this.#welcomed) this.#failures++;
    this.#welcomed = false;
    this.#generation++;
    if (code === DriftCloseCode.Unauthenticated || code === DriftCloseCode.IdentityMismatch) {
      this.#refused(code);
      return;
    }
    this.#backoff();
  }

  /**
   * The control plane refused this node's identity (4401 unauthenticated, 4403 identity mismatch):
   * retrying soon cannot help, so it says so once per refusal and waits the maximum backoff, so a
   * fixed token file or node id is picked up without hammering the control plane.
   */
  #refused(code: number): void {
    const delay = this.#maxMs;
    const why =
      code === DriftCloseCode.Unauthenticated
        ? 'the control plane refused the credentials (4401 unauthenticated): check the token file or client certificate'
        : "the control plane refused this node's identity (4403 identity mismatch): node id and cluster must match the credentials";
    try {
      this.#options.logger?.warn(`${why}; retrying in ${Math.round(delay / 1000)} s`, {
        code: this.#lastErrorCode ?? undefined,
        close_code: code,
        node_id: this.#options.node_id,
        cluster: this.#options.cluster,
        retry_in_ms: delay,
      });
    } catch {
      // A logger never throws into the gateway.
    }
    this.#backoff(delay);
  }

  #drop(code: number, reason: string): void {
    const connection = this.#connection;
    this.#connection = null;
    this.#generation++;
    this.#clearTimer();
    try {
      connection?.close(code, reason);
    } catch (error) {
      this.#catch('closing the connection failed', error);
    }
    this.#failures++;
    this.#welcomed = false;
    this.#backoff();
  }

  #backoff(fixedDelayMs?: number): void {
    this.#closePrevious();
    if (this.#status === 'closed') return;
    this.#status = 'backoff';
    const cap = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    const delay = fixedDelayMs ?? Math.floor(this.#random() * cap);
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (this.#status === 'backoff') this.#connect();
    }, delay);
  }
}

function transportFault(message: string): PlumblineError {
  return new PlumblineError('PLB_DRIFT_TRANSPORT_FAULT', message);
}

function isConnection(value: unknown): value is DriftConnection {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as DriftConnection).send === 'function' &&
    typeof (value as DriftConnection).close === 'function'
  );
}

/**
 * Maps a loaded-artifact snapshot (`@plumbline/core/verify`) to the state the drift protocol
 * reports.
 *
 * @example
 * ```ts
 * reporter.report(stateFromSnapshot(registry.snapshot()));
 * ```
 * @public
 */
export function stateFromSnapshot(snapshot: LoadedArtifactSnapshot): ReportedState {
  const p = snapshot.provenance;
  const provenance: ReportedProvenance | null =
    p === null
      ? null
      : {
          ...(p.commit === undefined ? {} : { commit: p.commit }),
          ...(p.source === undefined ? {} : { source: p.source }),
          ...(p.ref === undefined ? {} : { ref: p.ref }),
          ...(snapshot.build_timestamp === null
            ? {}
            : { build_timestamp: snapshot.build_timestamp }),
          builder: { id: p.builder.id, version: p.builder.version },
        };
  const error = snapshot.last_load_error;
  return {
    artifact_hash: snapshot.artifact_hash,
    provenance,
    loaded_at: snapshot.loaded_at,
    ...(snapshot.workers.length === 0
      ? {}
      : { workers: snapshot.workers.map((w) => ({ id: w.id, artifact_hash: w.artifact_hash })) }),
    last_load_error:
      error === undefined || error.artifact_hash === null
        ? null
        : {
            artifact_hash: error.artifact_hash,
            code: error.code,
            message: error.message,
            at: error.at,
          },
  };
}

function hasReasons(state: ReportedState): boolean {
  return (state.verification_reasons?.length ?? 0) > 0;
}

/** At most 16 reasons, each within the protocol's field limits. */
function clampReasons(state: ReportedState): VerificationReasonReport[] {
  return (state.verification_reasons ?? []).slice(0, 16).map((r) => ({
    rule: r.rule.slice(0, 64),
    code: r.code.slice(0, 253),
    message: r.message.slice(0, 1024),
  }));
}

/** Keeps a load error within the protocol's field limits, so a long message never breaks a heartbeat. */
function clampLoadError(error: LoadError): LoadError {
  return {
    artifact_hash: error.artifact_hash,
    code: error.code.slice(0, 253),
    message: error.message.slice(0, 1024),
    at: error.at,
  };
}

/** Keeps provenance within the protocol's field limits. */
function clampProvenance(p: ReportedProvenance): ReportedProvenance {
  const clamp = (value: string | undefined): string | undefined => value?.slice(0, 1024);
  return {
    ...(p.commit === undefined ? {} : { commit: clamp(p.commit) as string }),
    ...(p.source === undefined ? {} : { source: clamp(p.source) as string }),
    ...(p.ref === undefined ? {} : { ref: clamp(p.ref) as string }),
    ...(p.build_timestamp === undefined ? {} : { build_timestamp: p.build_timestamp.slice(0, 64) }),
    ...(p.builder === undefined
      ? {}
      : {
          builder: { id: p.builder.id.slice(0, 1024), version: p.builder.version.slice(0, 1024) },
        }),
  };
}
