import type { DigestString } from '../hash/digest.js';
import type { LiveConfigReport } from '../drift/protocol.js';
import type { FleetStore, NodePin, ObservedNode, SetDesiredInput } from '../drift/store.js';

/**
 * A store under test, built by the factory passed to {@link describeFleetStoreConformance}.
 *
 * @public
 */
export interface FleetStoreHarness {
  /** A fresh, empty store. */
  readonly store: FleetStore;
  /**
   * Opens another store over the same backing data (same file, same database). With it the suite
   * checks durability: after `store.close()`, `reopen()` sees everything.
   */
  reopen?(): Promise<FleetStore>;
  /**
   * Opens a second, concurrent replica over the same backing data. With it the suite checks that
   * compare-and-set holds across replicas and that the change feed reaches the other replica.
   */
  replica?(): Promise<FleetStore>;
  /** Removes the backing data. Optional. */
  dispose?(): Promise<void>;
}

/**
 * Builds a fresh, empty store for one test.
 *
 * @public
 */
export type FleetStoreFactory = () => Promise<FleetStoreHarness>;

/** Runs a test body with a fresh store, closing and disposing of it afterwards. @internal */
export type WithStore = (body: (harness: FleetStoreHarness) => Promise<void>) => Promise<void>;

/** @internal */
export const H1 = `sha256:${'1'.repeat(64)}` as DigestString;
/** @internal */
export const H2 = `sha256:${'2'.repeat(64)}` as DigestString;
/** @internal */
export const H3 = `sha256:${'3'.repeat(64)}` as DigestString;
/** @internal */
export const AT = '2026-01-01T00:00:00.000Z';

/** @internal */
export function desiredInput(
  cluster: string,
  hash: DigestString,
  extra: Partial<SetDesiredInput> = {},
): SetDesiredInput {
  return {
    cluster,
    artifact_hash: hash,
    actor: 'alice',
    reason: 'test',
    changed_at: AT,
    rollout: null,
    ...extra,
  };
}

/** @internal A pin of `node_id` in `prod` to `hash`, by actor `a`. */
export function pinInput(node_id: string, hash: DigestString, reason = 'r'): NodePin {
  return { node_id, cluster: 'prod', artifact_hash: hash, actor: 'a', reason, pinned_at: AT };
}

/**
 * @internal Runs `body` with a second replica of the harness's store, closed afterwards; does
 * nothing when the harness has no replicas.
 */
export async function withReplica(
  harness: FleetStoreHarness,
  body: (store: FleetStore, other: FleetStore) => Promise<void>,
): Promise<void> {
  if (harness.replica === undefined) return;
  const other = await harness.replica();
  try {
    await body(harness.store, other);
  } finally {
    await other.close();
  }
}

/** @internal */
export function observed(node_id: string, cluster: string, seq: number): ObservedNode {
  return {
    node_id,
    cluster,
    instance_id: 'inst-1',
    reported_hash: H1,
    workers: [{ id: 'w1', artifact_hash: H1 }],
    provenance: { commit: 'a'.repeat(40), builder: { id: 'b', version: '1' } },
    loaded_at: AT,
    last_load_error: { artifact_hash: H2, code: 'PLB_X', message: 'failed: ünïcode', at: AT },
    last_seen: AT,
    last_seq: seq,
  };
}

/** A live-configuration report with every field set. @internal */
export const LIVE: LiveConfigReport = {
  probe: 'caddy',
  status: 'ok',
  digest: H3,
  expected_digest: H1,
  differences: ['/apps/http/servers/srv0/listen', 'ünïcode path'],
  pending: 2,
  code: 'PLB_PROBE_X',
  message: 'out of band',
  at: AT,
};
