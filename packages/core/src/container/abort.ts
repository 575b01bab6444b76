import { PlumblineError } from '../errors.js';

/**
 * Throws `PLB_ABORTED` when the signal is aborted.
 *
 * @internal
 */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new PlumblineError('PLB_ABORTED', 'the operation was aborted', { cause: signal.reason });
  }
}
