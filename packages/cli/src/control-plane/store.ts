import { PlumblineError } from '@plumbline/core';
import type { FleetStore } from '@plumbline/core/drift';

/**
 * Opens the shared PostgreSQL fleet store of `@plumbline/postgres` for `--store postgres://…`.
 * The adapter is loaded only when asked for, so a control plane on a state file never loads `pg`.
 *
 * @throws {@link @plumbline/core#PlumblineError} `PLB_STORE_UNAVAILABLE` when the installed
 *   `@plumbline/postgres` has no fleet store.
 * @internal
 */
export async function openPostgresStore(url: string): Promise<FleetStore> {
  const mod = (await import('@plumbline/postgres')) as Record<string, unknown>;
  const open = mod['createPostgresFleetStore'];
  if (typeof open !== 'function') {
    throw new PlumblineError(
      'PLB_STORE_UNAVAILABLE',
      'the installed @plumbline/postgres has no fleet store (createPostgresFleetStore); use --state-file',
    );
  }
  return await (open as (o: { connectionString: string }) => Promise<FleetStore>)({
    connectionString: url,
  });
}
