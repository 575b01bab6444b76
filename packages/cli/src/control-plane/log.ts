import type { CliWritable } from '../io.js';

/**
 * The levels of the control plane's and agent's JSON log lines, lowest first; lines below the
 * configured level are not written.
 *
 * @public
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A structured logger writing one JSON object per line (`time`, `level`, `msg`, fields).
 * Callers never pass secrets; fields are plain data.
 *
 * @internal
 */
export interface JsonLogger {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

/**
 * Creates a {@link JsonLogger} writing to `out` (stderr for the CLI processes, keeping stdout for
 * the `listening` line).
 *
 * @internal
 */
export function createJsonLogger(
  out: CliWritable,
  options: { level?: LogLevel; component: string; now?: () => Date },
): JsonLogger {
  const min = RANK[options.level ?? 'info'];
  const now = options.now ?? (() => new Date());
  const write = (
    level: LogLevel,
    msg: string,
    fields?: Readonly<Record<string, unknown>>,
  ): void => {
    if (RANK[level] < min) return;
    let line: string;
    try {
      line = JSON.stringify({
        time: now().toISOString(),
        level,
        component: options.component,
        msg,
        ...fields,
      });
    } catch {
      line = JSON.stringify({
        time: now().toISOString(),
        level,
        component: options.component,
        msg,
      });
    }
    try {
      out.write(`${line}\n`);
    } catch {
      // A closed stderr must not take the process down.
    }
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}
