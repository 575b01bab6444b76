import { PlumblineError } from '@plumbline/core';
import type { FleetEvent, FleetStore } from '@plumbline/core/drift';
import { isUrlOf } from './parse.js';

/**
 * Checks a `--store` value: a `postgres://` or `postgresql://` URL. The value is never echoed
 * (it may hold a password).
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_USAGE` for anything else.
 * @internal
 */
export function checkStoreUrl(text: string | undefined, what = '--store'): string {
  if (text === undefined || text.length === 0) {
    throw new PlumblineError('PLB_USAGE', `${what} URL of the PostgreSQL fleet store is required`);
  }
  if (!isUrlOf(text, ['postgres:', 'postgresql:'])) {
    throw new PlumblineError(
      'PLB_USAGE',
      `${what} must be a PostgreSQL URL (scheme postgres or postgresql; the value is not shown)`,
    );
  }
  return text;
}

/**
 * The parts of `@plumbline/postgres`'s store the control plane uses besides `FleetStore`.
 *
 * @internal
 */
export interface SharedFleetStore extends FleetStore {
  followSessions(monitor: { onAny(listener: (event: FleetEvent) => void): () => void }): () => void;
}

interface PostgresModule {
  createPostgresFleetStore?: (options: {
    connectionString: string;
    schema?: string;
    migrate?: boolean;
    replicaTimeoutMs?: number;
    sweepIntervalMs?: number;
    replicaHeartbeatMs?: number;
  }) => Promise<SharedFleetStore>;
  migrate?: (options: {
    connectionString: string;
    schema?: string;
  }) => Promise<{ schema: string; from: number; to: number; applied: readonly number[] }>;
}

async function loadPostgres(): Promise<PostgresModule> {
  try {
    return (await import('@plumbline/postgres')) as PostgresModule;
  } catch (cause) {
    throw new PlumblineError(
      'PLB_STORE_UNAVAILABLE',
      'a PostgreSQL --store needs @plumbline/postgres (npm install @plumbline/postgres)',
      { cause },
    );
  }
}

/**
 * Opens the shared PostgreSQL fleet store of `@plumbline/postgres` for `--store postgres://…`.
 * The adapter is loaded only when asked for, so a control plane on a state file never loads `pg`.
 * The schema is not migrated here: `plumbline control-plane migrate` does that, so the control
 * plane's database role needs no CREATE privilege.
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_STORE_UNAVAILABLE` when `@plumbline/postgres`
 *   is missing or has no fleet store; `PLB_PG_UNAVAILABLE`, `PLB_PG_SCHEMA`, `PLB_PG_OPTIONS` from it.
 * @internal
 */
export async function openPostgresStore(
  url: string,
  options: {
    readonly schema?: string;
    readonly replicaTimeoutMs?: number;
    readonly sweepIntervalMs?: number;
    readonly replicaHeartbeatMs?: number;
  } = {},
): Promise<SharedFleetStore> {
  const open = (await loadPostgres()).createPostgresFleetStore;
  if (typeof open !== 'function') {
    throw new PlumblineError(
      'PLB_STORE_UNAVAILABLE',
      'the installed @plumbline/postgres has no fleet store (createPostgresFleetStore); use --state-file',
    );
  }
  return await open({
    connectionString: checkStoreUrl(url),
    ...options,
    migrate: false,
  });
}

/**
 * Runs the pending schema migrations of the PostgreSQL fleet store (`plumbline control-plane
 * migrate`).
 *
 * @throws {@link @plumbline/core!PlumblineError} `PLB_STORE_UNAVAILABLE` without
 *   `@plumbline/postgres`; `PLB_PG_UNAVAILABLE`, `PLB_PG_SCHEMA`, `PLB_PG_MIGRATE`, `PLB_PG_OPTIONS`.
 * @internal
 */
export async function migratePostgresStore(
  url: string,
  options: { readonly schema?: string } = {},
): Promise<{ schema: string; from: number; to: number; applied: readonly number[] }> {
  const run = (await loadPostgres()).migrate;
  if (typeof run !== 'function') {
    throw new PlumblineError(
      'PLB_STORE_UNAVAILABLE',
      'the installed @plumbline/postgres has no migrate()',
    );
  }
  return await run({
    connectionString: checkStoreUrl(url),
    ...(options.schema === undefined ? {} : { schema: options.schema }),
  });
}
