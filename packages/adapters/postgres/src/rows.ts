/**
 * Rows of the store's tables and the records they hold, converted both ways.
 */
import type { DigestString } from '@plumbline/core/hash';
import type {
  DesiredState,
  LiveConfigReport,
  NodePin,
  ObservedNode,
  Rollout,
} from '@plumbline/core/drift';

/** A row of `desired_state` (`rollout` as JSON text). @internal */
export interface DesiredRow {
  cluster: string;
  artifact_hash: string;
  version: number;
  actor: string;
  reason: string;
  changed_at: string;
  rollout: string | null;
}

/** @internal */
export function desiredOf(row: DesiredRow): DesiredState {
  return {
    cluster: row.cluster,
    artifact_hash: row.artifact_hash as DigestString,
    version: row.version,
    actor: row.actor,
    reason: row.reason,
    changed_at: row.changed_at,
    rollout: row.rollout === null ? null : (JSON.parse(row.rollout) as Rollout),
  };
}

/** @internal */
export function pinOf(row: Record<string, string>): NodePin {
  return {
    node_id: row['node_id'] as string,
    cluster: row['cluster'] as string,
    artifact_hash: row['artifact_hash'] as DigestString,
    actor: row['actor'] as string,
    reason: row['reason'] as string,
    pinned_at: row['pinned_at'] as string,
  };
}

/**
 * The `data` column of an observed row, as JSON text: everything but the live-configuration
 * report, which has its own column (`live`).
 *
 * @internal
 */
export function observedText(node: ObservedNode): string {
  return JSON.stringify({
    node_id: node.node_id,
    cluster: node.cluster,
    instance_id: node.instance_id,
    reported_hash: node.reported_hash,
    workers: node.workers,
    provenance: node.provenance,
    loaded_at: node.loaded_at,
    last_load_error: node.last_load_error,
    last_seen: node.last_seen,
    last_seq: node.last_seq,
    // What other replicas show of the node's session (absent when the writer did not say).
    connected: node.connected,
    stale: node.stale,
    awaiting_report: node.awaiting_report,
    flap: node.flap,
    // The open drift episode, so the replica a node fails over to (or this one, restarted) knows it.
    drift_since: node.drift_since,
  });
}

/**
 * The `live` column of an observed row, as JSON text: SQL `NULL` when the record has no `live`
 * field (as records of earlier versions), JSON `null` when it says none.
 *
 * @internal
 */
export function liveText(node: ObservedNode): string | null {
  return node.live === undefined ? null : JSON.stringify(node.live);
}

/** A row of `observed` as the store reads it (`data`, `live` as JSON text). @internal */
export interface ObservedRowColumns {
  readonly data: string;
  readonly live: string | null;
  /** Newer than the `last_seen` in `data` when only the time was written since. */
  readonly last_seen: Date | null;
  /** Likewise for `last_seq` (`NULL` in rows written by versions before schema 4). */
  readonly seq: string | null;
}

/** An observed record from its row. @internal */
export function observedOfRow(row: ObservedRowColumns): ObservedNode {
  let node = JSON.parse(row.data) as ObservedNode;
  if (row.last_seen !== null) node = { ...node, last_seen: new Date(row.last_seen).toISOString() };
  if (row.seq !== null) node = { ...node, last_seq: Number(row.seq) };
  return row.live === null
    ? node
    : { ...node, live: JSON.parse(row.live) as LiveConfigReport | null };
}

/** Sorts strings by UTF-16 code units (as every store sorts its snapshot). @internal */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
