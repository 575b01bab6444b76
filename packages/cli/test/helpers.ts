import { run } from '@plumbline/cli';
import type { CliIO } from '@plumbline/cli';

/** What an in-process CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(
  argv: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    ...(options.stdin === undefined
      ? {}
      : {
          stdin: (async function* () {
            yield options.stdin!;
          })(),
        }),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { cliArgs } from '@plumbline/testkit/cli';

/**
 * Starts the CLI in a separate process (for long-running commands such as `control-plane` and
 * `agent`, or for signal handling): the built CLI when its build is newer than every source, else
 * the sources (workspace packages resolved through the `@plumbline/source` condition), so no
 * build is needed.
 */
export function spawnCli(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, cliArgs(args), {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...options,
  });
}

/**
 * Polls `fn` every 25 ms until it gives something other than `undefined` or `false`, and returns
 * that; throws after `timeoutMs` naming `what` was awaited.
 */
export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
