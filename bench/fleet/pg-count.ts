/**
 * Counts every PostgreSQL statement this process runs, on the client: `pg`'s `Client#query` is
 * wrapped (the pool's clients are the same class), by kind, with the rows each returned or changed.
 */
// @ts-expect-error pg ships no declarations for its internal modules.
import PgClient from 'pg/lib/client.js';

export interface PgCounts {
  statements: number;
  reads: number;
  writes: number;
  other: number;
  rows: number;
}

/** Starts counting; the returned object's fields rise as statements complete. */
export function countPgStatements(): PgCounts {
  const pgCount: PgCounts = { statements: 0, reads: 0, writes: 0, other: 0, rows: 0 };

  const proto = (PgClient as { prototype: { query: (...a: unknown[]) => unknown } }).prototype;
  const original = proto.query;
  const count = (text: unknown, result: unknown): void => {
    const sql = typeof text === 'string' ? text : ((text as { text?: string })?.text ?? '');
    const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
    pgCount.statements++;
    if (verb === 'SELECT') pgCount.reads++;
    else if (verb === 'INSERT' || verb === 'UPDATE' || verb === 'DELETE' || verb === 'WITH')
      pgCount.writes++;
    else pgCount.other++;
    const r = result as { rowCount?: number | null; rows?: unknown[] } | undefined;
    pgCount.rows += r?.rowCount ?? r?.rows?.length ?? 0;
  };
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        if (!error) count(args[0], result);
        (last as (e: unknown, r: unknown) => void)(error, result);
      };
      return original.apply(this, args);
    }
    const out = original.apply(this, args);
    if (out instanceof Promise) out.then((r) => count(args[0], r)).catch(() => undefined);
    return out;
  };
  return pgCount;
}
