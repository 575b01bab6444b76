import { desiredEventId } from '@plumbline/core/drift';
import type { DesiredStateChangedEvent, FleetStore, HistoryChange } from '@plumbline/core/drift';

/** Most desired-state changes a cluster's history lists from the store. */
const STORE_CHANGES = 50;

/** One entry of a store's recorded desired-state history (`desiredHistory`). */
interface RecordedChange {
  readonly artifact_hash: string | null;
  readonly version: number;
  readonly actor: string;
  readonly reason: string;
  readonly changed_at: string | Date;
}

type DesiredHistoryReader = (
  cluster: string,
  options: { readonly limit: number },
) => Promise<readonly RecordedChange[]>;

/**
 * The reader of a cluster's recorded desired-state changes (oldest first) when the store keeps
 * them (the PostgreSQL store's `desiredHistory`), else `undefined`.
 *
 * @internal
 */
export function storeHistory(
  store: FleetStore | undefined,
): ((cluster: string) => Promise<readonly RecordedChange[]>) | undefined {
  const read = (store as { desiredHistory?: DesiredHistoryReader } | undefined)?.desiredHistory;
  if (typeof read !== 'function') return undefined;
  return (cluster) => read.call(store, cluster, { limit: STORE_CHANGES });
}

/**
 * The recorded changes at or after `since` (epoch ms), newest first, in the history document's
 * shape (a cleared desired state is not a change to a hash, and is left out as in the ring).
 *
 * @internal
 */
export function changesInWindow(
  recorded: readonly RecordedChange[],
  since: number,
): HistoryChange[] {
  const changes: HistoryChange[] = [];
  for (const r of recorded) {
    const changedAt = new Date(r.changed_at).toISOString();
    if (r.artifact_hash === null || Date.parse(changedAt) < since) continue;
    changes.push({
      version: r.version,
      artifact_hash: r.artifact_hash,
      actor: r.actor,
      reason: r.reason,
      changed_at: changedAt,
    });
  }
  return changes.reverse();
}

/**
 * Follows the desired-state changes other replicas of a shared store make: the monitor applies
 * them silently (the replica that made the change announces it), so the dashboard hands each to
 * `onEvent` as the `desired_state.changed` event the other replica announced, with who and why.
 * Returns the function that stops following.
 *
 * @internal
 */
export function followRemoteDesired(
  store: FleetStore | undefined,
  onEvent: (event: DesiredStateChangedEvent) => void,
): () => void {
  if (store === undefined) return () => undefined;
  /** The desired hash each cluster had in the last change seen (any replica's). */
  const hashes = new Map<string, DesiredStateChangedEvent['artifact_hash']>();
  return store.subscribe((change) => {
    if (change.kind === 'desired_cleared') hashes.set(change.cluster, null);
    if (change.kind !== 'desired') return;
    const { desired } = change;
    const previous = hashes.get(desired.cluster) ?? null;
    hashes.set(desired.cluster, desired.artifact_hash);
    if (change.local !== false) return;
    onEvent({
      type: 'desired_state.changed',
      id: desiredEventId(desired),
      at: desired.changed_at,
      cluster: desired.cluster,
      artifact_hash: desired.artifact_hash,
      previous_hash: previous,
      version: desired.version,
      actor: desired.actor,
      reason: desired.reason,
      rollout: desired.rollout,
    });
  });
}
