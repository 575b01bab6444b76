import { PlumblineError } from '../errors.js';
import { isWellFormed } from '../encoding/utf8.js';

/**
 * Checks that `path` is a valid manifest path: relative, `/`-separated, Unicode NFC, well-formed
 * UTF-8, no NUL, no empty, `.` or `..` segments, no leading or trailing `/`, no backslash.
 *
 * @throws {@link PlumblineError} `PLB_PATH_INVALID` (empty, NUL, backslash, not NFC, empty or `.`
 *   segment), `PLB_PATH_ESCAPE` (absolute, or a `..` segment), `PLB_PATH_INVALID_UTF8`.
 * @public
 */
export function validateManifestPath(path: string): void {
  const fail = (code: `PLB_${string}`, why: string): never => {
    throw new PlumblineError(code, `invalid manifest path ${JSON.stringify(path)}: ${why}`, {
      details: { path },
    });
  };
  if (typeof path !== 'string' || path.length === 0) fail('PLB_PATH_INVALID', 'empty');
  if (!isWellFormed(path)) fail('PLB_PATH_INVALID_UTF8', 'not valid UTF-8');
  if (path.includes('\0')) fail('PLB_PATH_INVALID', 'contains NUL');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) fail('PLB_PATH_ESCAPE', 'absolute');
  if (path.includes('\\')) fail('PLB_PATH_INVALID', 'contains a backslash; use "/"');
  if (path.endsWith('/')) fail('PLB_PATH_INVALID', 'trailing "/"');
  if (path.normalize('NFC') !== path) fail('PLB_PATH_INVALID', 'not in Unicode NFC');
  for (const segment of path.split('/')) {
    if (segment === '..') fail('PLB_PATH_ESCAPE', 'a ".." segment leaves the base');
    if (segment === '' || segment === '.') fail('PLB_PATH_INVALID', 'empty or "." segment');
  }
}

/**
 * The key two paths share when they differ only by case (used to detect case collisions).
 *
 * @public
 */
export function caseFoldKey(path: string): string {
  return path.toUpperCase().toLowerCase().normalize('NFC');
}
