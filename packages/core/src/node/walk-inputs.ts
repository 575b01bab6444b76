import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { PlumblineError } from '../errors.js';
import { caseFoldKey, validateManifestPath } from '../manifest/path.js';
import { MANIFEST_MAX_PATH_LENGTH } from '../manifest/limits.js';
import { throwIfAborted } from './hash-file.js';

/** Options of {@link walkInputs}. @internal */
export interface WalkOptions {
  readonly cwd: string;
  readonly base: string | undefined;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly followSymlinks: boolean;
  readonly caseCollisions: 'error' | 'allow';
  readonly maxEntries: number;
  readonly signal: AbortSignal | undefined;
  /** Called every few hundred entries and at the end with the files found so far (a growing list). */
  readonly onFound?: (found: number, files: readonly WalkedFile[]) => void;
}

/** One file to hash. @internal */
export interface WalkedFile {
  /** What to open: the file itself, or the real path of a symbolic link's target. */
  readonly absolutePath: string;
  /** The manifest path (relative to the base, `/`-separated, NFC). */
  readonly path: string;
}

/** The files of a set of inputs, and the base their paths are relative to. @internal */
export interface WalkResult {
  readonly base: string;
  readonly files: WalkedFile[];
}

interface Frame {
  readonly absolute: string;
  /** Manifest path of the directory ('' for the base). */
  readonly path: string;
  /** Real path of the directory, to detect symbolic-link loops. */
  readonly real: string;
  readonly parent: Frame | undefined;
}

const YIELD_EVERY = 512;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

function pathError(
  code: `PLB_${string}`,
  path: string,
  message: string,
  extra: Record<string, unknown> = {},
): PlumblineError {
  return new PlumblineError(code, message, { details: { path, ...extra } });
}

function within(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  return candidate.startsWith(root.endsWith(sep) ? root : root + sep);
}

function toManifestPath(relativePath: string): string {
  return sep === '/' ? relativePath : relativePath.split(sep).join('/');
}

function joinPath(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}/${name}`;
}

/**
 * Walks the inputs of a manifest: resolves the base, applies the path rules of docs/formats.md (escapes,
 * symbolic links, invalid UTF-8 names, NFC, duplicates, case collisions) and the include/exclude
 * globs, and lists the files to hash. Yields to the event loop regularly so an `AbortSignal`
 * and progress reporting stay live on huge trees.
 *
 * @internal
 */
export async function walkInputs(
  inputs: readonly string[],
  options: WalkOptions,
): Promise<WalkResult> {
  const { signal } = options;
  if (inputs.length === 0) {
    throw new PlumblineError('PLB_INPUT_MISSING', 'no inputs were given');
  }
  const resolved = inputs.map((input) => resolve(options.cwd, input));
  const stats: Stats[] = resolved.map((absolute, i) => {
    try {
      return lstatSync(absolute);
    } catch (cause) {
      throw new PlumblineError(
        'PLB_INPUT_MISSING',
        `input ${JSON.stringify(inputs[i])} does not exist`,
        {
          cause,
          details: { path: inputs[i] },
        },
      );
    }
  });
  let base: string;
  if (options.base !== undefined) base = resolve(options.cwd, options.base);
  else if (resolved.length === 1 && isDirectory(resolved[0]!, stats[0]!)) base = resolved[0]!;
  else base = resolve(options.cwd);
  let realBase: string;
  try {
    realBase = realpathSync(base);
  } catch (cause) {
    throw new PlumblineError(
      'PLB_INPUT_MISSING',
      `base ${JSON.stringify(options.base ?? base)} does not exist`,
      {
        cause,
        details: { path: options.base ?? base },
      },
    );
  }

  const includes =
    options.include.length > 0 ? picomatch([...options.include], { dot: true }) : undefined;
  const excludes =
    options.exclude.length > 0 ? picomatch([...options.exclude], { dot: true }) : undefined;
  // A directory is skipped whole when an exclude pattern "dir/**" names it.
  const dirPatterns = options.exclude.filter((p) => p.endsWith('/**')).map((p) => p.slice(0, -3));
  const excludedDir = dirPatterns.length > 0 ? picomatch(dirPatterns, { dot: true }) : undefined;

  const files: WalkedFile[] = [];
  const byNfc = new Map<string, string>();
  const byCase = new Map<string, string>();
  let sinceYield = 0;

  const tick = async (): Promise<void> => {
    if (++sinceYield < YIELD_EVERY) return;
    sinceYield = 0;
    await new Promise((r) => setImmediate(r));
    throwIfAborted(signal);
    options.onFound?.(files.length, files);
  };

  const addFile = (absolutePath: string, rawPath: string): void => {
    // ASCII paths (the common case) are already NFC and fold case with toLowerCase.
    const ascii = Buffer.byteLength(rawPath, 'utf8') === rawPath.length;
    const path = ascii ? rawPath : rawPath.normalize('NFC');
    if (includes && !includes(path)) return;
    if (excludes?.(path)) return;
    // Names from readdir are never empty, ".", ".." or contain "/" or NUL, and the input's own
    // prefix was checked, so a full check is needed only for what remains possible.
    if (!ascii || path.includes('\\')) validateManifestPath(path);
    if (path.length > MANIFEST_MAX_PATH_LENGTH) {
      throw pathError(
        'PLB_PATH_INVALID',
        path,
        `path ${JSON.stringify(path.slice(0, 80))}… is longer than ${MANIFEST_MAX_PATH_LENGTH} characters`,
      );
    }
    const previous = byNfc.get(path);
    if (previous !== undefined) {
      if (previous === rawPath) {
        throw pathError('PLB_PATH_DUPLICATE', path, `path ${JSON.stringify(path)} is given twice`);
      }
      throw pathError(
        'PLB_PATH_NFC_COLLISION',
        path,
        `paths ${JSON.stringify(previous)} and ${JSON.stringify(rawPath)} are equal after Unicode NFC normalization`,
        { other: previous },
      );
    }
    byNfc.set(path, rawPath);
    if (options.caseCollisions === 'error') {
      const key = ascii ? path.toLowerCase() : caseFoldKey(path);
      const other = byCase.get(key);
      if (other !== undefined) {
        throw pathError(
          'PLB_PATH_CASE_COLLISION',
          path,
          `paths ${JSON.stringify(other)} and ${JSON.stringify(path)} differ only by case`,
          { other },
        );
      }
      byCase.set(key, path);
    }
    if (files.length >= options.maxEntries) {
      throw new PlumblineError(
        'PLB_LIMIT_ENTRIES',
        `the inputs hold more than ${options.maxEntries} files`,
        {
          details: { limit: options.maxEntries },
        },
      );
    }
    files.push({ absolutePath, path });
  };

  /** Resolves a symbolic link at `absolute` (manifest path `path`); returns its real target. */
  const followLink = (absolute: string, path: string): { real: string; stats: Stats } => {
    if (!options.followSymlinks) {
      throw pathError(
        'PLB_PATH_SYMLINK',
        path,
        `input ${JSON.stringify(path)} is a symbolic link and following links is off`,
      );
    }
    let real: string;
    try {
      real = realpathSync(absolute);
    } catch (cause) {
      throw new PlumblineError(
        'PLB_PATH_SYMLINK_BROKEN',
        `symbolic link ${JSON.stringify(path)} points to nothing`,
        {
          cause,
          details: { path },
        },
      );
    }
    if (!within(realBase, real)) {
      throw pathError(
        'PLB_PATH_SYMLINK_ESCAPE',
        path,
        `symbolic link ${JSON.stringify(path)} leaves the base`,
      );
    }
    return { real, stats: statSync(real) };
  };

  const checkNames = (frame: Frame): void => {
    for (const raw of readdirSync(frame.absolute, { encoding: 'buffer' })) {
      try {
        strictUtf8.decode(raw);
      } catch {
        const shown = joinPath(frame.path, lossyUtf8.decode(raw));
        throw pathError(
          'PLB_PATH_INVALID_UTF8',
          shown,
          `file name ${JSON.stringify(shown)} is not valid UTF-8`,
          {
            name_hex: Buffer.from(raw).toString('hex'),
          },
        );
      }
    }
  };

  const walkDirectory = async (root: Frame): Promise<void> => {
    const stack: Frame[] = [root];
    while (stack.length > 0) {
      const frame = stack.pop()!;
      if (frame.path !== '' && excludedDir?.(frame.path)) continue;
      let dirents: Dirent[];
      try {
        dirents = readdirSync(frame.absolute, { withFileTypes: true });
        // Names that were not valid UTF-8 come back with U+FFFD; only then look at the raw bytes.
        if (dirents.some((d) => d.name.includes('\ufffd'))) checkNames(frame);
      } catch (cause) {
        if (PlumblineError.is(cause)) throw cause;
        throw new PlumblineError(
          'PLB_INPUT_READ',
          `cannot read directory ${JSON.stringify(frame.path || '.')}`,
          {
            cause,
            details: { path: frame.path || '.' },
          },
        );
      }
      for (const dirent of dirents) {
        const name = dirent.name;
        const absolute = join(frame.absolute, name);
        const path = joinPath(frame.path, name);
        if (dirent.isFile()) {
          addFile(absolute, path);
        } else if (dirent.isDirectory()) {
          stack.push({ absolute, path, real: join(frame.real, name), parent: frame });
        } else if (dirent.isSymbolicLink()) {
          const target = followLink(absolute, path);
          if (target.stats.isDirectory()) {
            for (let f: Frame | undefined = frame; f; f = f.parent) {
              if (within(target.real, f.real)) {
                throw pathError(
                  'PLB_PATH_SYMLINK_LOOP',
                  path,
                  `symbolic link ${JSON.stringify(path)} points to a directory that contains it`,
                );
              }
            }
            stack.push({ absolute, path, real: target.real, parent: frame });
          } else if (target.stats.isFile()) {
            addFile(target.real, path);
          } else {
            throw unsupported(path);
          }
        } else {
          throw unsupported(path);
        }
        await tick();
      }
    }
  };

  for (let i = 0; i < resolved.length; i++) {
    throwIfAborted(signal);
    const absolute = resolved[i]!;
    let rel = relative(base, absolute);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      // The base may be spelled through a symbolic link; compare real locations too.
      const real = join(realpathSync(dirname(absolute)), basename(absolute));
      rel = relative(realBase, real);
      if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
        throw pathError(
          'PLB_PATH_ESCAPE',
          inputs[i]!,
          `input ${JSON.stringify(inputs[i])} is outside the base ${JSON.stringify(base)}`,
        );
      }
    }
    const path = toManifestPath(rel);
    if (path !== '') validateManifestPath(path.normalize('NFC'));
    let stat = stats[i]!;
    let real = path === '' ? realBase : join(realpathSync(dirname(absolute)), basename(absolute));
    if (stat.isSymbolicLink()) {
      const target = followLink(absolute, path || '.');
      stat = target.stats;
      real = target.real;
    } else if (!within(realBase, real)) {
      // A directory on the way is a symbolic link that leaves the base.
      throw pathError(
        'PLB_PATH_SYMLINK_ESCAPE',
        path,
        `input ${JSON.stringify(path)} resolves outside the base`,
      );
    }
    if (stat.isDirectory()) {
      await walkDirectory({ absolute, path, real, parent: undefined });
    } else if (stat.isFile()) {
      addFile(real === absolute ? absolute : real, path);
    } else {
      throw unsupported(path || inputs[i]!);
    }
  }
  options.onFound?.(files.length, files);
  return { base, files };
}

function isDirectory(absolute: string, stat: Stats): boolean {
  if (stat.isDirectory()) return true;
  if (!stat.isSymbolicLink()) return false;
  try {
    return statSync(absolute).isDirectory();
  } catch {
    return false;
  }
}

function unsupported(path: string): PlumblineError {
  return pathError(
    'PLB_INPUT_UNSUPPORTED',
    path,
    `input ${JSON.stringify(path)} is not a regular file, directory or symbolic link`,
  );
}
