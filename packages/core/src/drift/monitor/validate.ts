/**
 * Checks of the monitor's options and inputs.
 *
 * @internal
 * @packageDocumentation
 */
import { PlumblineError } from '../../errors.js';

/** @internal */
export function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new PlumblineError('PLB_DRIFT_INVALID_OPTION', `${name} must be a positive number`, {
      details: { option: name },
    });
  }
  return value;
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
