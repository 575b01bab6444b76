import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Resolves an output path against the working directory and creates its missing parent folders,
 * so `--out keys/release` or `--out out/a.plb` work in a fresh checkout. Every command that writes
 * a file goes through here. A parent that exists as a file fails with `PLB_IO` (not a directory).
 *
 * @returns the absolute path to write to.
 * @internal
 */
export async function prepareOutputPath(cwd: string, path: string): Promise<string> {
  const absolute = resolve(cwd, path);
  await mkdir(dirname(absolute), { recursive: true });
  return absolute;
}
