import { link, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { PlumblineError } from '../errors.js';
import { MemoryFleetStore } from '../drift/memory-store.js';
import {
  liveConfigSchema,
  loadErrorSchema,
  reportedProvenanceSchema,
  workerReportSchema,
} from '../drift/protocol.js';
import type { FleetSnapshot, ObservedNode } from '../drift/store.js';
import { withAtomicFile } from './atomic-file.js';

/**
 * The format identifier of fleet state files. Readers refuse another major version.
 *
 * @public
 */
export const FLEET_STATE_FORMAT = 'plumbline.fleet-state/v1';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const text = z.string().max(4096);
const time = z.string().max(64);

const rolloutSchema = z.object({
  previous_hash: digest.nullable(),
  started_at: time,
  deadline: time,
});

const fileSchema = z.object({
  format: z.literal(FLEET_STATE_FORMAT),
  revision: z.number().int().min(0),
  desired: z.array(
    z.object({
      cluster: text,
      artifact_hash: digest,
      version: z.number().int().min(1),
      actor: text,
      reason: text,
      changed_at: time,
      rollout: rolloutSchema.nullable(),
    }),
  ),
  pins: z.array(
    z.object({
      node_id: text,
      cluster: text,
      artifact_hash: digest,
      actor: text,
      reason: text,
      pinned_at: time,
    }),
  ),
  expected: z.array(
    z.object({ cluster: text, nodes: z.array(text), actor: text, changed_at: time }),
  ),
  observed: z.array(
    z.object({
      node_id: text,
      cluster: text,
      instance_id: text.nullable(),
      reported_hash: digest.nullable(),
      workers: z.array(workerReportSchema).nullable(),
      provenance: reportedProvenanceSchema.nullable(),
      loaded_at: time.nullable(),
      last_load_error: loadErrorSchema.nullable(),
      last_seen: time.nullable(),
      last_seq: z.number().int().min(0),
      live: liveConfigSchema.nullable().optional(),
      drift_since: time.nullable().optional(),
    }),
  ),
});

/**
 * Options of {@link FileFleetStore.open}.
 *
 * @public
 */
export interface FileFleetStoreOptions {
  /** The state file. Its directory must exist. */
  readonly path: string;
  /** Largest state file read or written. Default 256 MiB. */
  readonly maxFileBytes?: number;
  /** `fsync` the file and its directory on every write (default `true`; turn off only in tests). */
  readonly fsync?: boolean;
}

function isErrno(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}

async function fsyncPath(path: string, flags: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, flags);
    await handle.sync();
  } catch (error) {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
    if (!isErrno(error, 'EISDIR') && !isErrno(error, 'EPERM') && !isErrno(error, 'EINVAL')) {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}

/**
 * A {@link drift.FleetStore | FleetStore} in one JSON file, so a single control plane forgets nothing across a
 * restart. Every change is written atomically: a temporary file in the same directory is
 * written and fsynced, the previous good file is kept as `<path>.bak`, the temporary file is
 * renamed over `<path>`, and the directory is fsynced. A file that is not a valid state file is
 * never overwritten: opening it fails with `PLB_STORE_CORRUPT` and names the backup.
 *
 * One process at a time: for several control-plane replicas use `@plumbline/postgres`.
 *
 * @example
 * ```ts
 * import { FileFleetStore } from '@plumbline/core/node';
 * const store = await FileFleetStore.open({ path: '/var/lib/plumbline/fleet.json' });
 * const monitor = await FleetMonitor.create({ store });
 * ```
 * @public
 */
export class FileFleetStore extends MemoryFleetStore {
  /** The state file. */
  readonly path: string;
  readonly #maxFileBytes: number;
  readonly #fsync: boolean;
  /**
   * The UTF-8 JSON of each observed node as last written, preceded by a comma, with the record it
   * was made from.
   */
  readonly #json = new Map<string, { readonly node: ObservedNode; readonly bytes: Buffer }>();
  /** The observed node ids, sorted, as of `observedKeys === #sortedFor`. */
  #sorted: string[] = [];
  #sortedFor = -1;

  private constructor(options: FileFleetStoreOptions, snapshot: FleetSnapshot | undefined) {
    super(snapshot);
    this.path = options.path;
    this.#maxFileBytes = options.maxFileBytes ?? 256 * 1024 * 1024;
    this.#fsync = options.fsync ?? true;
  }

  /**
   * Opens (or, when the file does not exist, starts) a state file.
   *
   * @example
   * ```ts
   * const store = await FileFleetStore.open({ path: 'fleet.json' });
   * ```
   * @throws {@link PlumblineError} `PLB_STORE_CORRUPT` for a file that is not valid JSON or not a
   *   state file (the file is left as it is); `PLB_STORE_VERSION` for another format version;
   *   `PLB_STORE_TOO_LARGE` over `maxFileBytes`; `PLB_STORE_IO` when it cannot be read.
   */
  static async open(options: FileFleetStoreOptions): Promise<FileFleetStore> {
    const maxFileBytes = options.maxFileBytes ?? 256 * 1024 * 1024;
    const snapshot = await readStateFile(options.path, maxFileBytes);
    return new FileFleetStore(options, snapshot);
  }

  /**
   * Writes the whole fleet state to the file atomically: a temporary file (fsynced unless `fsync`
   * is off), the previous file kept as `<path>.bak`, then a rename.
   *
   * @internal
   */
  protected override async persist(): Promise<void> {
    const body = this.#serialize();
    if (body.byteLength > this.#maxFileBytes) {
      throw new PlumblineError(
        'PLB_STORE_TOO_LARGE',
        `the fleet state is larger than the limit of ${this.#maxFileBytes} bytes`,
        { details: { path: this.path, limit: this.#maxFileBytes } },
      );
    }
    try {
      await withAtomicFile(
        this.path,
        async (handle) => {
          await handle.writeFile(body);
          // The previous good file is kept before the new one replaces it.
          await this.#keepBackup();
        },
        { mode: 0o600, fsync: this.#fsync },
      );
      if (this.#fsync) await fsyncPath(dirname(this.path), 'r');
    } catch (error) {
      if (PlumblineError.is(error)) throw error;
      throw new PlumblineError('PLB_STORE_IO', `cannot write the fleet state file ${this.path}`, {
        details: { path: this.path },
        cause: error,
      });
    }
  }

  /**
   * The file's bytes, as `JSON.stringify({ format, ...snapshot() })` would write them, but built
   * from the UTF-8 JSON of each observed node kept from the previous write: only nodes whose record
   * changed since are serialised and encoded again, the node ids are sorted again only when one was
   * added or removed, and the unchanged nodes' bytes are copied, not joined into a string and
   * encoded again (a fleet of nodes heartbeating changes a few records per write, not all of them).
   */
  #serialize(): Buffer {
    const observed = this.observed;
    if (this.#sortedFor !== this.observedKeys) {
      this.#sorted = [...observed.keys()].sort();
      this.#sortedFor = this.observedKeys;
      for (const id of this.#json.keys()) if (!observed.has(id)) this.#json.delete(id);
    }
    const byKey = <T>(map: ReadonlyMap<string, T>): string =>
      JSON.stringify([...map.keys()].sort().map((key) => map.get(key) as T));
    const parts: Buffer[] = [
      Buffer.from(
        `{"format":${JSON.stringify(FLEET_STATE_FORMAT)},"revision":${JSON.stringify(this.revision)},` +
          `"desired":${byKey(this.desired)},"pins":${byKey(this.pins)},` +
          `"expected":${byKey(this.expected)},"observed":[`,
      ),
    ];
    for (const id of this.#sorted) {
      const node = observed.get(id) as ObservedNode;
      let cached = this.#json.get(id);
      if (cached === undefined || cached.node !== node) {
        cached = { node, bytes: Buffer.from(`,${JSON.stringify(node)}`) };
        this.#json.set(id, cached);
      }
      // The first node's bytes without their leading comma.
      parts.push(parts.length === 1 ? cached.bytes.subarray(1) : cached.bytes);
    }
    parts.push(Buffer.from(']}\n'));
    return Buffer.concat(parts);
  }

  /** Hard-links the current good file as `<path>.bak` before it is replaced. */
  async #keepBackup(): Promise<void> {
    const backup = `${this.path}.bak`;
    await unlink(backup).catch((error: unknown) => {
      if (!isErrno(error, 'ENOENT')) throw error;
    });
    await link(this.path, backup).catch((error: unknown) => {
      if (!isErrno(error, 'ENOENT')) throw error;
    });
  }
}

async function readStateFile(
  path: string,
  maxFileBytes: number,
): Promise<FleetSnapshot | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw new PlumblineError('PLB_STORE_IO', `cannot read the fleet state file ${path}`, {
      details: { path },
      cause: error,
    });
  }
  if (size > maxFileBytes) {
    throw new PlumblineError(
      'PLB_STORE_TOO_LARGE',
      `the fleet state file ${path} is larger than the limit of ${maxFileBytes} bytes`,
      { details: { path, size, limit: maxFileBytes } },
    );
  }
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    throw new PlumblineError('PLB_STORE_IO', `cannot read the fleet state file ${path}`, {
      details: { path },
      cause: error,
    });
  }
  const corrupt = (why: string, cause?: unknown): PlumblineError =>
    new PlumblineError(
      'PLB_STORE_CORRUPT',
      `the fleet state file ${path} is corrupt (${why}); it was left untouched, and the previous good state, if any, is in ${path}.bak`,
      { details: { path, backup: `${path}.bak` }, ...(cause === undefined ? {} : { cause }) },
    );
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw corrupt('not valid JSON', cause);
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (
    typeof format === 'string' &&
    format !== FLEET_STATE_FORMAT &&
    format.startsWith('plumbline.fleet-state/')
  ) {
    throw new PlumblineError(
      'PLB_STORE_VERSION',
      `the fleet state file ${path} has format ${format.slice(0, 64)}; this version reads ${FLEET_STATE_FORMAT}`,
      { details: { path, format: format.slice(0, 64) } },
    );
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupt(
      issue === undefined ? 'invalid' : `${issue.path.join('.') || '(file)'}: ${issue.message}`,
    );
  }
  const { format: _format, ...snapshot } = parsed.data;
  return snapshot as FleetSnapshot;
}
