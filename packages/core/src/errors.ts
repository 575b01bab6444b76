/**
 * The one error class of `@plumbline/core`. Every failure the SDK reports carries a stable
 * `code` (documented in `docs/errors.md`); messages may change between versions, codes do not.
 *
 * @public
 */
export type PlumblineErrorCode = `PLB_${string}`;

/**
 * Options for {@link PlumblineError}.
 *
 * @public
 */
export interface PlumblineErrorOptions {
  /** The underlying error, kept for `--debug` output and error chains. */
  readonly cause?: unknown;
  /** Structured, non-secret context (a path, an offset, a limit). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * An error with a stable, documented code.
 *
 * @example
 * ```ts
 * import { PlumblineError } from '@plumbline/core';
 * try {
 *   throw new PlumblineError('PLB_PATH_ESCAPE', 'path "../x" leaves the base', { details: { path: '../x' } });
 * } catch (error) {
 *   if (PlumblineError.is(error, 'PLB_PATH_ESCAPE')) console.error(error.code);
 * }
 * ```
 * @public
 */
export class PlumblineError extends Error {
  /** The stable code, such as `PLB_PATH_ESCAPE`. */
  readonly code: PlumblineErrorCode;
  /** Structured, non-secret context. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: PlumblineErrorCode, message: string, options: PlumblineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PlumblineError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /**
   * Whether `error` is a {@link PlumblineError}, optionally with the given code.
   * Works across copies of the package (checks the shape, not the prototype).
   */
  static is(error: unknown, code?: PlumblineErrorCode): error is PlumblineError {
    if (typeof error !== 'object' || error === null) return false;
    const candidate = error as { name?: unknown; code?: unknown };
    if (candidate.name !== 'PlumblineError' || typeof candidate.code !== 'string') return false;
    return code === undefined || candidate.code === code;
  }
}
