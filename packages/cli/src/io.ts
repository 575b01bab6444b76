/**
 * A place the CLI writes to: `process.stdout`, `process.stderr`, or a test's buffer.
 *
 * @public
 */
export interface CliWritable {
  /** Writes `chunk` as is, adding no newline; the return value is ignored. */
  write(chunk: string): unknown;
  /** Whether the stream is a terminal (colour, progress bars). */
  readonly isTTY?: boolean;
}

/**
 * Everything the CLI reads from or writes to its process, so it can run in-process in tests.
 *
 * @public
 */
export interface CliIO {
  /** Where data goes: command output, JSON documents. */
  readonly stdout: CliWritable;
  /** Where notes, progress and errors go, never data. */
  readonly stderr: CliWritable;
  /** Standard input, for commands that read a token or a document from it. */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** The environment variables the CLI reads (`process.env` in the real process). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The directory relative paths are resolved against (`process.cwd()` in the real process). */
  readonly cwd: string;
  /** Resolves when the process should stop (SIGTERM/SIGINT) for long-running commands. */
  readonly shutdownSignal?: AbortSignal;
}

/** The real process's IO. @internal */
export function processIO(shutdownSignal?: AbortSignal): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    ...(shutdownSignal ? { shutdownSignal } : {}),
  };
}
