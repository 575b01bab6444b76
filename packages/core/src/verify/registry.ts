import { PlumblineError } from '../errors.js';
import { limitOption } from '../limit-option.js';
import type { DigestString } from '../hash/digest.js';
import type { Provenance } from '../header/types.js';
import { processInstanceId } from './instance.js';
import type { LoadedArtifact, LoadError, VerificationStatus } from './types.js';

/**
 * One worker's loaded artifact, as listed by the admin endpoint and the drift protocol.
 *
 * @public
 */
export interface WorkerArtifact {
  /** The worker id. */
  readonly id: string;
  /** The manifest root of the worker's artifact; `null` for a legacy artifact. */
  readonly artifact_hash: DigestString | null;
  /** RFC 3339 UTC time the worker's artifact was loaded. */
  readonly loaded_at: string;
  /** The overall verification status of that load. */
  readonly verification_status: VerificationStatus;
}

/**
 * A consistent view of a registry at one moment: what the drift reporter sends in `hello` and
 * `heartbeat`, and what the admin endpoint serves.
 *
 * @public
 */
export interface LoadedArtifactSnapshot {
  /** Rises by one on every change; equal versions mean equal snapshots. */
  readonly version: number;
  /** The process instance id. */
  readonly instance_id: string;
  /** The process's record (or, with only workers, the most recently loaded worker's). */
  readonly current: LoadedArtifact | undefined;
  /** `current`'s manifest root; `null` when nothing is loaded or for a legacy artifact. */
  readonly artifact_hash: DigestString | null;
  /** `current`'s provenance; `null` when nothing is loaded or it has no intact header. */
  readonly provenance: Provenance | null;
  /** `current`'s build time (RFC 3339 UTC); `null` when nothing is loaded or it has no intact header. */
  readonly build_timestamp: string | null;
  /** RFC 3339 UTC time `current` was loaded; `null` when nothing is loaded. */
  readonly loaded_at: string | null;
  /** One entry per registered worker, sorted by id; empty when the gateway has no workers. */
  readonly workers: readonly WorkerArtifact[];
  /** The last refused load, until a later load of the same artifact hash (or any load, when it had none) succeeds; `undefined` otherwise. */
  readonly last_load_error: LoadError | undefined;
}

/**
 * Where the admin endpoint and the drift reporter read what is loaded. {@link LoadedArtifactRegistry}
 * implements it; a gateway may implement it over its own state.
 *
 * @public
 */
export interface LoadedArtifactSource {
  /** What is loaded now, as one consistent view. */
  snapshot(): LoadedArtifactSnapshot;
  /** Calls `listener` after every change; returns a function that unsubscribes. */
  subscribe?(listener: (snapshot: LoadedArtifactSnapshot) => void): () => void;
}

/**
 * Options for {@link LoadedArtifactRegistry}.
 *
 * @public
 */
export interface LoadedArtifactRegistryOptions {
  /** The instance id (default {@link processInstanceId}). */
  readonly instanceId?: string;
  /** Most workers the registry holds. Default 1024. */
  readonly maxWorkers?: number;
}

const WORKER_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Remembers what this process loaded: one record for the process and, for gateways with several
 * workers, one per worker. Holds the last load error for the drift protocol's `last_load_error`.
 *
 * @example
 * ```ts
 * import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';
 * const registry = new LoadedArtifactRegistry();
 * await verifyOnLoad(candidate, { mode: 'enforce' }, { registry, workerId: 'w1' });
 * registry.snapshot().workers; // [{ id: 'w1', artifact_hash: 'sha256:…', … }]
 * ```
 * @public
 */
export class LoadedArtifactRegistry implements LoadedArtifactSource {
  /** The instance id stamped on records and sent as `instance_id`. */
  readonly instanceId: string;
  readonly #maxWorkers: number;
  #primary: LoadedArtifact | undefined;
  readonly #workers = new Map<string, LoadedArtifact>();
  #lastWorker: string | undefined;
  #lastError: LoadError | undefined;
  #version = 0;
  #snapshot: LoadedArtifactSnapshot | undefined;
  readonly #listeners = new Set<(snapshot: LoadedArtifactSnapshot) => void>();

  /**
   * @throws {@link PlumblineError} `PLB_VERIFY_REGISTRY_INVALID` for a non-positive `maxWorkers`.
   */
  constructor(options: LoadedArtifactRegistryOptions = {}) {
    this.instanceId = options.instanceId ?? processInstanceId();
    this.#maxWorkers = limitOption(options.maxWorkers, {
      name: 'maxWorkers',
      code: 'PLB_VERIFY_REGISTRY_INVALID',
      fallback: 1024,
    });
  }

  /**
   * Records a loaded artifact for the process or for one worker. Clears the last load error when
   * it concerned the same artifact hash (the retry succeeded) or no hash at all.
   *
   * @throws {@link PlumblineError} `PLB_VERIFY_REGISTRY_INVALID` for a malformed worker id or when
   * `maxWorkers` workers are already registered.
   */
  set(record: LoadedArtifact, options: { readonly workerId?: string } = {}): void {
    const { workerId } = options;
    if (workerId === undefined) {
      this.#primary = record;
    } else {
      if (!WORKER_ID_RE.test(workerId)) {
        throw new PlumblineError(
          'PLB_VERIFY_REGISTRY_INVALID',
          'a worker id is 1 to 128 characters of letters, digits, ".", "_", ":" or "-"',
        );
      }
      if (!this.#workers.has(workerId) && this.#workers.size >= this.#maxWorkers) {
        throw new PlumblineError(
          'PLB_VERIFY_REGISTRY_INVALID',
          `the registry holds at most ${this.#maxWorkers} workers`,
          { details: { limit: this.#maxWorkers } },
        );
      }
      this.#workers.set(workerId, record);
      this.#lastWorker = workerId;
    }
    if (
      this.#lastError !== undefined &&
      (this.#lastError.artifact_hash === null ||
        this.#lastError.artifact_hash === record.artifact_hash)
    ) {
      this.#lastError = undefined;
    }
    this.#changed();
  }

  /** The record of the process (no argument) or of one worker. */
  get(workerId?: string): LoadedArtifact | undefined {
    return workerId === undefined ? this.#primary : this.#workers.get(workerId);
  }

  /** Forgets a worker (it exited). Returns whether it was registered. */
  removeWorker(workerId: string): boolean {
    const removed = this.#workers.delete(workerId);
    if (removed) {
      if (this.#lastWorker === workerId) this.#lastWorker = [...this.#workers.keys()].pop();
      this.#changed();
    }
    return removed;
  }

  /** Keeps a failed load for the drift protocol's `last_load_error`. */
  recordLoadError(error: LoadError): void {
    this.#lastError = error;
    this.#changed();
  }

  /** The last failed load, until a later load succeeds. */
  get lastLoadError(): LoadError | undefined {
    return this.#lastError;
  }

  /** The current snapshot (the same object until the next change). */
  snapshot(): LoadedArtifactSnapshot {
    if (this.#snapshot !== undefined) return this.#snapshot;
    const current =
      this.#primary ??
      (this.#lastWorker === undefined ? undefined : this.#workers.get(this.#lastWorker));
    const workers = [...this.#workers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, record]) => ({
        id,
        artifact_hash: record.artifact_hash,
        loaded_at: record.loaded_at,
        verification_status: record.verification.status,
      }));
    this.#snapshot = Object.freeze({
      version: this.#version,
      instance_id: this.instanceId,
      current,
      artifact_hash: current?.artifact_hash ?? null,
      provenance: current?.provenance ?? null,
      build_timestamp: current?.build_timestamp ?? null,
      loaded_at: current?.loaded_at ?? null,
      workers: Object.freeze(workers),
      last_load_error: this.#lastError,
    });
    return this.#snapshot;
  }

  /**
   * Calls `listener` with the new snapshot after every change. Listener errors are caught.
   * Returns a function that unsubscribes.
   */
  subscribe(listener: (snapshot: LoadedArtifactSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #changed(): void {
    this.#version += 1;
    this.#snapshot = undefined;
    if (this.#listeners.size === 0) return;
    const snapshot = this.snapshot();
    for (const listener of this.#listeners) {
      try {
        listener(snapshot);
      } catch {
        // A listener never breaks a load.
      }
    }
  }
}
