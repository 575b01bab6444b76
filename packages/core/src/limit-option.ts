import { PlumblineError, type PlumblineErrorCode } from './errors.js';

/**
 * How {@link limitOption} checks one numeric option.
 *
 * @public
 */
export interface LimitOptionRule {
  /** The option's name, as the caller wrote it (said in the error, never the value). */
  readonly name: string;
  /** The error code of the package or area that owns the option. */
  readonly code: PlumblineErrorCode;
  /** Used when the option is `undefined`; without one, `undefined` is an error. */
  readonly fallback?: number;
  /** Whole numbers only (safe integers); default `true`. */
  readonly integer?: boolean;
  /** The smallest allowed value; default: anything above 0. */
  readonly min?: number;
}

/**
 * Checks a numeric option (a limit, an interval, a count) and returns it, or its fallback when it
 * is `undefined`: every limit of the SDK is validated by this one rule, so an option is refused with
 * the same words everywhere. Integers must be safe integers; numbers must be finite.
 *
 * @example
 * ```ts
 * const maxConnections = limitOption(options.maxConnections, {
 *   name: 'maxConnections',
 *   code: 'PLB_ADMIN_CONFIG_INVALID',
 *   fallback: 256,
 * });
 * ```
 * @throws {@link PlumblineError} with `rule.code` when the value is missing (no fallback), not a
 *   number of the right kind, or below the minimum; `details.option` names the option.
 * @public
 */
export function limitOption(value: number | undefined, rule: LimitOptionRule): number {
  const v = value ?? rule.fallback;
  const integer = rule.integer !== false;
  const min = rule.min;
  const kind = integer ? 'integer' : 'number';
  const noun = integer ? 'an integer' : 'a number';
  const valid =
    typeof v === 'number' &&
    (integer ? Number.isSafeInteger(v) : Number.isFinite(v)) &&
    (min === undefined ? v > 0 : v >= min);
  if (!valid) {
    const bound = min === undefined ? `a positive ${kind}` : `${noun} >= ${min}`;
    throw new PlumblineError(rule.code, `${rule.name} must be ${bound}`, {
      details: { option: rule.name },
    });
  }
  return v;
}
