/**
 * Telling a lost connection from a bad query, and the error the store reports for it.
 */
import type pg from 'pg';
import { PlumblineError } from '@plumbline/core';

const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const NODE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** Whether an error means PostgreSQL is unreachable (rather than a bad query). @internal */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || CONNECTION_CODES.has(code) || NODE_CONNECTION_CODES.has(code))
      return true;
  }
  const message = (error as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|connection error|not queryable|Client was closed|timeout exceeded when trying to connect/i.test(
      message,
    )
  );
}

/** `PLB_PG_UNAVAILABLE`, with the connection error as its cause. @internal */
export function unavailable(cause: unknown): PlumblineError {
  return new PlumblineError('PLB_PG_UNAVAILABLE', 'PostgreSQL is unreachable', { cause });
}

/** Whether an error is the store's `PLB_PG_UNAVAILABLE`. @internal */
export function isUnavailable(error: unknown): boolean {
  return PlumblineError.is(error) && error.code === 'PLB_PG_UNAVAILABLE';
}

/** A pooled connection checked out by the store, with its `'error'` events caught. @internal */
export interface HeldConnection {
  readonly client: pg.PoolClient;
  /**
   * Gives the connection back to the pool; destroys it instead when it emitted `'error'` while
   * held, or when `broken` says so.
   */
  release(broken?: boolean): void;
}

/**
 * Holds a connection just taken from the pool. `pg-pool` takes its own `'error'` listener off a
 * connection it hands out, and `pg` emits `'error'` on a connection that ends unexpectedly or is
 * reset even when it also fails the running query: without a listener of the holder's own, a
 * backend terminated while the connection is held is an uncaught exception that ends the process.
 *
 * @internal
 */
export function hold(client: pg.PoolClient): HeldConnection {
  let broken = false;
  const onError = (): void => {
    broken = true;
  };
  client.on('error', onError);
  return {
    client,
    release(also = false) {
      client.removeListener('error', onError);
      client.release(broken || also);
    },
  };
}
