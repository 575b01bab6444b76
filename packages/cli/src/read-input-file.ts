import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PlumblineError } from '@plumbline/core';

/**
 * Reads a whole input file (a manifest, a proof) relative to `cwd`, refusing files larger than
 * `maxBytes` before reading them.
 *
 * @throws {@link PlumblineError} `PLB_INPUT_MISSING` when the file does not exist,
 *   `PLB_INPUT_TOO_LARGE` when it is larger than `maxBytes`, `PLB_INPUT_READ` otherwise.
 * @internal
 */
export async function readInputFile(
  cwd: string,
  file: string,
  maxBytes: number,
): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(resolve(cwd, file), 'r');
  } catch (cause) {
    const errno = (cause as { code?: string }).code;
    if (errno === 'ENOENT') {
      throw new PlumblineError('PLB_INPUT_MISSING', `${file}: no such file`, {
        cause,
        details: { path: file },
      });
    }
    throw new PlumblineError('PLB_INPUT_READ', `cannot read ${file}${errno ? ` (${errno})` : ''}`, {
      cause,
      details: { path: file },
    });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new PlumblineError('PLB_INPUT_UNSUPPORTED', `${file} is not a regular file`, {
        details: { path: file },
      });
    }
    if (stat.size > maxBytes) {
      throw new PlumblineError('PLB_INPUT_TOO_LARGE', `${file} is larger than ${maxBytes} bytes`, {
        details: { path: file, limit: maxBytes },
      });
    }
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/**
 * Reads and decodes a JSON input file (at most `maxBytes`).
 *
 * @throws {@link PlumblineError} as {@link readInputFile}, and `PLB_INPUT_MALFORMED` for text that
 *   is not UTF-8 JSON.
 * @internal
 */
export async function readJsonFile(cwd: string, file: string, maxBytes: number): Promise<unknown> {
  const bytes = await readInputFile(cwd, file, maxBytes);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
  } catch (cause) {
    throw new PlumblineError('PLB_INPUT_MALFORMED', `${file} is not valid JSON`, {
      cause,
      details: { path: file },
    });
  }
}
