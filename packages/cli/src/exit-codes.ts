/**
 * Exit codes of the `plumbline` command line (listed in packages/cli/README.md).
 *
 * @public
 */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** A check failed: mismatch, drift, bad signature. */
  CheckFailed: 1,
  /** Usage or input error. */
  Usage: 2,
  /** Unverified: legacy artifact, no signature. */
  Unverified: 3,
} as const;

/**
 * One of the {@link ExitCode} values.
 *
 * @public
 */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
