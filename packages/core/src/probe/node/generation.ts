import { stat } from 'node:fs/promises';
import { PlumblineError } from '../../errors.js';
import type { CanonicalConfig } from '../probe.js';

/**
 * The running generation of a gateway that reloads by starting new worker processes (NGINX,
 * HAProxy): an id that changes at each reload and when that generation started.
 *
 * @internal
 */
export interface Generation<C> {
  readonly id: string;
  readonly startedAtMs: number;
  /** What the snapshot needs (the binary, the configuration arguments). */
  readonly context: C;
}

/**
 * The configuration files as they are on disk now, canonicalized, and the files read.
 *
 * @internal
 */
export interface DiskSnapshot {
  readonly config: CanonicalConfig;
  readonly files: readonly string[];
}

/** @internal */
export interface GenerationSource<C> {
  current(signal?: AbortSignal): Promise<Generation<C>>;
  snapshot(context: C, signal?: AbortSignal): Promise<DiskSnapshot>;
}

/** The files changed (content or name: the later of mtime and ctime) after `sinceMs`. */
async function changedAfter(files: readonly string[], sinceMs: number): Promise<string[]> {
  const changed: string[] = [];
  await Promise.all(
    files.map(async (file) => {
      try {
        const s = await stat(file);
        if (Math.max(s.mtimeMs, s.ctimeMs) > sinceMs) changed.push(file);
      } catch {
        changed.push(file); // removed or unreadable since: a reload would not load what runs
      }
    }),
  );
  return changed.sort();
}

/**
 * Answers "what does the running generation run?" from snapshots of the files on disk, taken only
 * when they provably have not changed since that generation started:
 *
 * - a new generation (a reload happened): snapshot the files, then check that none changed after
 *   the generation started. If one did, what the generation loaded is unknown
 *   (`PLB_PROBE_GENERATION_UNKNOWN`) until the next reload — never a guess.
 * - the same generation: its snapshot stands; files changed since it started are a pending reload.
 *
 * `marginMs` absorbs the imprecision of process start times (about 10 ms on Linux).
 *
 * @internal
 */
export function createGenerationTracker<C>(
  source: GenerationSource<C>,
  marginMs: number,
): (signal?: AbortSignal) => Promise<{ config: CanonicalConfig; pending: readonly string[] }> {
  let known: { id: string; startedAtMs: number; snapshot: DiskSnapshot } | undefined;
  return async (signal) => {
    const generation = await source.current(signal);
    const since = generation.startedAtMs + marginMs;
    if (known !== undefined && known.id === generation.id) {
      return {
        config: known.snapshot.config,
        pending: await changedAfter(known.snapshot.files, since),
      };
    }
    const snapshot = await source.snapshot(generation.context, signal);
    const changed = await changedAfter(snapshot.files, since);
    if (changed.length > 0) {
      known = undefined;
      throw new PlumblineError(
        'PLB_PROBE_GENERATION_UNKNOWN',
        'configuration files changed after the running generation started, so what it loaded is unknown until the next reload',
        { details: { files: changed.length } },
      );
    }
    known = { id: generation.id, startedAtMs: generation.startedAtMs, snapshot };
    return { config: snapshot.config, pending: [] };
  };
}
