import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PlumblineError } from '../errors.js';
import { nextTurn } from './next-turn.js';
import { caseFoldKey, validateManifestPath } from '../manifest/path.js';
import { MANIFEST_MAX_PATH_LENGTH } from '../manifest/limits.js';
import { throwIfAborted } from './hash-file.js';
import { compileGlobs, type GlobMatcher } from './globs.js';

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
  if (inputs.length === 0) {
    throw new PlumblineError('PLB_INPUT_MISSING', 'no inputs were given');
  }
  const resolved = inputs.map((input) => resolve(options.cwd, input));
  const stats = lstatInputs(inputs, resolved);
  const { base, realBase } = resolveBase(options, resolved, stats);
  const walk = new InputWalk(options, realBase);
  for (let i = 0; i < resolved.length; i++) {
    throwIfAborted(options.signal);
    const path = pathInBase(inputs[i]!, resolved[i]!, base, realBase);
    await walk.input(inputs[i]!, resolved[i]!, path, stats[i]!);
  }
  options.onFound?.(walk.files.length, walk.files);
  return { base, files: walk.files };
}

/** The `lstat` of each input; a missing one is `PLB_INPUT_MISSING`. */
function lstatInputs(inputs: readonly string[], resolved: readonly string[]): Stats[] {
  return resolved.map((absolute, i) => {
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
}

/** The base (the option, the one input directory, or `cwd`) and its real path. */
function resolveBase(
  options: WalkOptions,
  resolved: readonly string[],
  stats: readonly Stats[],
): { base: string; realBase: string } {
  let base: string;
  if (options.base !== undefined) base = resolve(options.cwd, options.base);
  else if (resolved.length === 1 && isDirectory(resolved[0]!, stats[0]!)) base = resolved[0]!;
  else base = resolve(options.cwd);
  try {
    return { base, realBase: realpathSync(base) };
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
}

/** The manifest path of an input (`''` for the base itself); an input outside the base is refused. */
function pathInBase(input: string, absolute: string, base: string, realBase: string): string {
  const outside = (rel: string): boolean =>
    rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  let rel = relative(base, absolute);
  if (outside(rel)) {
    // The base may be spelled through a symbolic link; compare real locations too.
    const real = join(realpathSync(dirname(absolute)), basename(absolute));
    rel = relative(realBase, real);
    if (outside(rel)) {
      throw pathError(
        'PLB_PATH_ESCAPE',
        input,
        `input ${JSON.stringify(input)} is outside the base ${JSON.stringify(base)}`,
      );
    }
  }
  const path = toManifestPath(rel);
  if (path !== '') validateManifestPath(path.normalize('NFC'));
  return path;
}

/** One walk: the files found so far and the rules each new one is checked against. */
class InputWalk {
  readonly files: WalkedFile[] = [];
  private readonly byNfc = new Map<string, string>();
  private readonly byCase = new Map<string, string>();
  private readonly includes: GlobMatcher | undefined;
  private readonly excludes: GlobMatcher | undefined;
  /** A directory is skipped whole when an exclude pattern "dir/**" names it. */
  private readonly excludedDir: GlobMatcher | undefined;
  private sinceYield = 0;

  constructor(
    private readonly options: WalkOptions,
    private readonly realBase: string,
  ) {
    const globs = (patterns: readonly string[]): GlobMatcher | undefined =>
      patterns.length > 0 ? compileGlobs(patterns) : undefined;
    this.includes = globs(options.include);
    this.excludes = globs(options.exclude);
    this.excludedDir = globs(
      options.exclude.filter((p) => p.endsWith('/**')).map((p) => p.slice(0, -3)),
    );
  }

  /** Walks one input: `path` is its manifest path, `stat` its `lstat`. */
  async input(input: string, absolute: string, path: string, lstat: Stats): Promise<void> {
    let stat = lstat;
    let real =
      path === '' ? this.realBase : join(realpathSync(dirname(absolute)), basename(absolute));
    if (stat.isSymbolicLink()) {
      const target = this.followLink(absolute, path || '.');
      stat = target.stats;
      real = target.real;
    } else if (!within(this.realBase, real)) {
      // A directory on the way is a symbolic link that leaves the base.
      throw pathError(
        'PLB_PATH_SYMLINK_ESCAPE',
        path,
        `input ${JSON.stringify(path)} resolves outside the base`,
      );
    }
    if (stat.isDirectory()) {
      await this.directory({ absolute, path, real, parent: undefined });
    } else if (stat.isFile()) {
      this.addFile(real === absolute ? absolute : real, path);
    } else {
      throw unsupported(path || input);
    }
  }

  /** Whether {@link InputWalk.pause} is due: every 512 entries (no promise per entry). */
  private tick(): boolean {
    if (++this.sinceYield < YIELD_EVERY) return false;
    this.sinceYield = 0;
    return true;
  }

  /** Lets the event loop (and an abort) through and reports progress. */
  private async pause(): Promise<void> {
    await nextTurn();
    throwIfAborted(this.options.signal);
    this.options.onFound?.(this.files.length, this.files);
  }

  private addFile(absolutePath: string, rawPath: string): void {
    // ASCII paths (the common case) are already NFC and fold case with toLowerCase.
    const ascii = Buffer.byteLength(rawPath, 'utf8') === rawPath.length;
    const path = ascii ? rawPath : rawPath.normalize('NFC');
    if (this.includes && !this.includes(path)) return;
    if (this.excludes?.(path)) return;
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
    this.claimNfc(path, rawPath);
    if (this.options.caseCollisions === 'error') this.claimCase(path, ascii);
    const { maxEntries } = this.options;
    if (this.files.length >= maxEntries) {
      throw new PlumblineError(
        'PLB_LIMIT_ENTRIES',
        `the inputs hold more than ${maxEntries} files`,
        {
          details: { limit: maxEntries },
        },
      );
    }
    this.files.push({ absolutePath, path });
  }

  /** Refuses a path given twice, or equal to another after NFC normalization. */
  private claimNfc(path: string, rawPath: string): void {
    const previous = this.byNfc.get(path);
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
    this.byNfc.set(path, rawPath);
  }

  /** Refuses a path that differs from another only by case. */
  private claimCase(path: string, ascii: boolean): void {
    const key = ascii ? path.toLowerCase() : caseFoldKey(path);
    const other = this.byCase.get(key);
    if (other !== undefined) {
      throw pathError(
        'PLB_PATH_CASE_COLLISION',
        path,
        `paths ${JSON.stringify(other)} and ${JSON.stringify(path)} differ only by case`,
        { other },
      );
    }
    this.byCase.set(key, path);
  }

  /** Resolves a symbolic link at `absolute` (manifest path `path`); returns its real target. */
  private followLink(absolute: string, path: string): { real: string; stats: Stats } {
    if (!this.options.followSymlinks) {
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
    if (!within(this.realBase, real)) {
      throw pathError(
        'PLB_PATH_SYMLINK_ESCAPE',
        path,
        `symbolic link ${JSON.stringify(path)} leaves the base`,
      );
    }
    return { real, stats: statSync(real) };
  }

  /** Walks a directory tree depth first, without recursion. */
  private async directory(root: Frame): Promise<void> {
    const stack: Frame[] = [root];
    while (stack.length > 0) {
      const frame = stack.pop()!;
      if (frame.path !== '' && this.excludedDir?.(frame.path)) continue;
      for (const dirent of readDirectory(frame)) {
        const child = this.entry(frame, dirent);
        if (child !== undefined) stack.push(child);
        if (this.tick()) await this.pause();
      }
    }
  }

  /** Takes one directory entry: adds a file, or returns the directory to walk. */
  private entry(frame: Frame, dirent: Dirent): Frame | undefined {
    const name = dirent.name;
    // The directory's path is absolute and normalized and a name from readdir holds no separator:
    // concatenation gives what join() would, without normalizing every file's path.
    const absolute = frame.absolute.endsWith(sep)
      ? frame.absolute + name
      : frame.absolute + sep + name;
    const path = joinPath(frame.path, name);
    if (dirent.isFile()) {
      this.addFile(absolute, path);
      return undefined;
    }
    if (dirent.isDirectory())
      return { absolute, path, real: join(frame.real, name), parent: frame };
    if (!dirent.isSymbolicLink()) throw unsupported(path);
    const target = this.followLink(absolute, path);
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
      return { absolute, path, real: target.real, parent: frame };
    }
    if (!target.stats.isFile()) throw unsupported(path);
    this.addFile(target.real, path);
    return undefined;
  }
}

/** The entries of a directory; a name that is not valid UTF-8 is `PLB_PATH_INVALID_UTF8`. */
function readDirectory(frame: Frame): Dirent[] {
  try {
    const dirents = readdirSync(frame.absolute, { withFileTypes: true });
    // Names that were not valid UTF-8 come back with U+FFFD; only then look at the raw bytes.
    if (dirents.some((d) => d.name.includes('\ufffd'))) checkNames(frame);
    return dirents;
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
}

function checkNames(frame: Frame): void {
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
