/**
 * The `pg` client and pool, loaded without `pg`'s index module: that module subclasses
 * `pg-pool` through `require`, which breaks when the process runs with the `import` export
 * condition (as test runners do). The classes are the same ones `pg` exports.
 *
 * @internal
 * @packageDocumentation
 */
import type pg from 'pg';
// @ts-expect-error pg ships no declarations for its internal modules; typed below.
import ClientImpl from 'pg/lib/client.js';
// @ts-expect-error pg-pool ships no declarations; typed below.
import PoolImpl from 'pg-pool';

/** `pg.Client`. @internal */
export const Client = ClientImpl as typeof pg.Client;

/** A `pg.Pool` whose clients are {@link Client}s. @internal */
export function createPool(config: pg.PoolConfig): pg.Pool {
  const Pool = PoolImpl as new (config: pg.PoolConfig & { Client: unknown }) => pg.Pool;
  return new Pool({ ...config, Client: ClientImpl });
}
