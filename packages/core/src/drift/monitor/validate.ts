/**
 * Checks of the monitor's options and inputs.
 *
 * @internal
 * @packageDocumentation
 */
import { PlumblineError } from '../../errors.js';
import { limitOption } from '../../limit-option.js';

/**
 * A positive drift option (an interval, a limit, a threshold; a whole number when `integer`), or
 * its fallback when unset; refused with `PLB_DRIFT_INVALID_OPTION` by core's one numeric-option
 * rule. The monitor, the webhook sink and the name-collision guard all check their options here.
 *
 * @internal
 */
export function positive(
  value: number | undefined,
  name: string,
  fallback: number,
  integer = false,
): number {
  return limitOption(value, { name, code: 'PLB_DRIFT_INVALID_OPTION', fallback, integer });
}

/** @internal */
export function checkName(value: string, name: string): void {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > 253 ||
    !/^[\x21-\x7e]+$/.test(value)
  ) {
    throw new PlumblineError(
      'PLB_DRIFT_INVALID_NAME',
      `${name} must be 1–253 printable ASCII characters without spaces`,
      { details: { field: name } },
    );
  }
}

/** @internal */
export function parseDeadline(value: string | Date | number): number {
  const ms =
    typeof value === 'number' ? value : value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new PlumblineError('PLB_DRIFT_INVALID_ROLLOUT', 'a rollout deadline is not a valid time');
  }
  return ms;
}
