import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import type { DigestString } from '@plumbline/core/hash';
import { checkHeader } from '@plumbline/core/header';
import { parseManifest, type ManifestEntry } from '@plumbline/core/manifest';
import { readHeader } from '@plumbline/core/node';
import { readInputFile } from '../read-input-file.js';

/**
 * What `plumbline diff` compares: the entries and root of a manifest, wherever they came from.
 *
 * @internal
 */
export interface ManifestLike {
  /** What kind of input it was (`manifest`, or what another loader reads). */
  readonly kind: string;
  readonly root: DigestString;
  readonly entries: readonly ManifestEntry[];
}

/**
 * A way to read a manifest-like input from a file. `plumbline diff` asks each loader in
 * {@link manifestInputLoaders} in order and uses the first whose `detect` accepts the file's first
 * bytes; the JSON manifest loader is last and accepts anything.
 *
 * Extension point: a loader for another input (for example a sealed artifact, recognized by its
 * magic bytes, whose header carries the entries) is one object added before the manifest loader.
 *
 * @internal
 */
export interface ManifestInputLoader {
  readonly kind: string;
  /** Whether this loader reads the file, judged from its first (up to 64) bytes. */
  detect(head: Uint8Array): boolean;
  /** Reads the file (relative paths resolve against `cwd`). */
  load(cwd: string, file: string): Promise<ManifestLike>;
}

const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/** Reads a manifest JSON document (`plumbline manifest --out`), verifying its root. @internal */
export const manifestJsonLoader: ManifestInputLoader = {
  kind: 'manifest',
  detect: () => true,
  async load(cwd, file) {
    const manifest = parseManifest(await readInputFile(cwd, file, MAX_MANIFEST_BYTES));
    return { kind: 'manifest', root: manifest.root, entries: manifest.entries };
  },
};

/**
 * Reads the inputs recorded in a sealed artifact's header (recognized by the container magic),
 * reading only the prefix and refusing a header whose `artifact_hash` is not its inputs' root.
 *
 * @internal
 */
export const artifactLoader: ManifestInputLoader = {
  kind: 'artifact',
  detect: (head) =>
    head.length >= 8 &&
    [0x89, 0x50, 0x4c, 0x42, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => head[i] === b),
  async load(cwd, file) {
    const { header } = await readHeader(resolve(cwd, file));
    const problem = checkHeader(header)[0];
    if (problem)
      throw new PlumblineError(problem.code, `${file}: ${problem.message}`, {
        details: { path: file },
      });
    return { kind: 'artifact', root: header.artifact_hash, entries: header.inputs };
  },
};

/**
 * The loaders `plumbline diff` tries, in order. Add new input kinds before the last entry.
 *
 * @internal
 */
export const manifestInputLoaders: readonly ManifestInputLoader[] = [
  artifactLoader,
  manifestJsonLoader,
];

/** What to do instead when `diff` is given a directory. @internal */
export function directoryHint(file: string): string {
  return (
    `${file} is a directory: diff compares two manifests or sealed artifacts; fingerprint a ` +
    `directory first with \`plumbline manifest ${file} --out ${file.replace(/[\\/]+$/, '')}.manifest.json\``
  );
}

async function readHead(cwd: string, file: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(resolve(cwd, file), 'r');
    if ((await handle.stat()).isDirectory()) {
      throw new PlumblineError('PLB_INPUT_UNSUPPORTED', directoryHint(file), {
        details: { path: file },
      });
    }
  } catch (cause) {
    if (PlumblineError.is(cause)) {
      await handle?.close();
      throw cause;
    }
    const errno = (cause as { code?: string }).code;
    throw new PlumblineError(
      errno === 'ENOENT' ? 'PLB_INPUT_MISSING' : 'PLB_INPUT_READ',
      errno === 'ENOENT'
        ? `${file}: no such file`
        : `cannot read ${file}${errno ? ` (${errno})` : ''}`,
      { cause, details: { path: file } },
    );
  }
  try {
    const head = new Uint8Array(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } catch (cause) {
    throw new PlumblineError('PLB_INPUT_READ', `cannot read ${file}`, {
      cause,
      details: { path: file },
    });
  } finally {
    await handle.close();
  }
}

/**
 * Loads a manifest-like input from `file` with the first loader that recognizes it.
 *
 * @throws {@link PlumblineError} from the loader (`PLB_INPUT_MISSING`, `PLB_MANIFEST_*`, …).
 * @internal
 */
export async function loadManifestInput(
  cwd: string,
  file: string,
  loaders: readonly ManifestInputLoader[] = manifestInputLoaders,
): Promise<ManifestLike> {
  const head = await readHead(cwd, file);
  const loader = loaders.find((l) => l.detect(head));
  if (!loader) {
    throw new PlumblineError(
      'PLB_INPUT_UNSUPPORTED',
      `${file} is not an input plumbline diff can read`,
      {
        details: { path: file },
      },
    );
  }
  return loader.load(cwd, file);
}
