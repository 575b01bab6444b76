import { PlumblineError } from '@plumbline/core';
import { createRedactor } from '@plumbline/core/audit';

const redact = createRedactor();

/**
 * Turns anything thrown into a {@link PlumblineError} for the `plumbline: CODE: message` line:
 * file-system errors get `PLB_IO` with the path, anything unexpected `PLB_INTERNAL`.
 *
 * @internal
 */
export function toPlumblineError(error: unknown): PlumblineError {
  if (PlumblineError.is(error)) return error;
  const sys = error as { code?: unknown; path?: unknown; message?: unknown };
  if (sys && typeof sys.code === 'string' && /^E[A-Z]+$/.test(sys.code)) {
    const where = typeof sys.path === 'string' ? ` ${sys.path}` : '';
    const what: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
      ENOTDIR: 'not a directory',
      EEXIST: 'already exists',
      EADDRINUSE: 'address already in use',
    };
    return new PlumblineError(
      'PLB_IO',
      `${what[sys.code] ?? sys.code}:${where}`.replace(/:$/, ''),
      {
        cause: error,
        details: { errno: sys.code },
      },
    );
  }
  // An unexpected error's text may quote a credential: only its redacted copy is kept.
  const message = String(redact(error instanceof Error ? error.message : String(error)));
  return new PlumblineError('PLB_INTERNAL', message, { cause: new Error(message) });
}

/**
 * The stack trace `--debug` prints, redacted like every other output (a stack starts with the
 * error's message, which may quote a credential). `undefined` without one.
 *
 * @internal
 */
export function debugStack(error: unknown): string | undefined {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return undefined;
  return String(redact(error.stack));
}
