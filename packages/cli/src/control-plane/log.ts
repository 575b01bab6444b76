import { PlumblineError } from '@plumbline/core';
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
 * The `--log-level` of `plumbline control-plane` and `plumbline agent` (default `info`).
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` for anything but the four levels.
 * @internal
 */
export function parseLogLevel(value: string | undefined): LogLevel {
  const level = value ?? 'info';
  if (!Object.hasOwn(RANK, level)) {
    throw new PlumblineError('PLB_USAGE', '--log-level must be debug, info, warn or error');
  }
  return level as LogLevel;
}

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

/**
 * Logs a refused data-plane session (a warning): its close code and reason, the node and the peer
 * address when known, and the protocol when it is not Plumbline's.
 *
 * @internal
 */
export function logRejectedSession(
  logger: JsonLogger,
  rejected: {
    readonly code: string | number;
    readonly reason: string;
    readonly node_id?: string | undefined;
    readonly remoteAddress?: string | undefined;
  },
  protocol?: 'barbacane',
): void {
  logger.warn('session rejected', {
    ...(protocol === undefined ? {} : { protocol }),
    code: rejected.code,
    reason: rejected.reason,
    ...(rejected.node_id === undefined ? {} : { node_id: rejected.node_id }),
    ...(rejected.remoteAddress === undefined ? {} : { remote_address: rejected.remoteAddress }),
  });
}

/** Logs an audit write that failed (an error). @internal */
export function logAuditWriteFailed(logger: JsonLogger, error: unknown): void {
  logger.error('audit write failed', { message: (error as Error).message });
}
