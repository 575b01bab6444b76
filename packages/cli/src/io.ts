/**
 * A place the CLI writes to: `process.stdout`, `process.stderr`, or a test's buffer.
 *
 * @public
 */
export interface CliWritable {
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
  readonly stdout: CliWritable;
  readonly stderr: CliWritable;
  /** Standard input, for commands that read a token or a document from it. */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  readonly env: Readonly<Record<string, string | undefined>>;
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
