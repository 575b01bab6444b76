/**
 * Queries: a node's detail, the node list and the per-cluster summaries, read from the records.
 *
 * @internal
 * @packageDocumentation
 */
import type { ClusterSummary, NodeQuery, NodeStatus } from '../monitor-types.js';
import type { Fleet } from './fleet.js';
import { iso, type ClusterRecord, type NodeRecord } from './records.js';
import { NODE_STATES, type NodeState } from './state.js';

/** One node as the API shows it. @internal */
export function nodeStatus(fleet: Fleet, node: NodeRecord): NodeStatus {
  return {
    node_id: node.node_id,
    cluster: node.cluster.name,
    state: node.state,
    since: iso(node.since),
    reported_hash: node.reported,
    desired_hash: fleet.desiredFor(node),
    last_seen: node.last_seen < 0 ? null : iso(node.last_seen),
    instance_id: node.instance_id,
    provenance: node.provenance,
    loaded_at: node.loaded_at,
    workers: node.workers,
    last_load_error: node.last_load_error,
    live_config: node.live,
    verification_reasons: node.reasons,
    pinned: fleet.pins.has(node.node_id),
    flapping: node.flapping,
    connected: node.session !== null,
  };
}

/** Nodes sorted by id, filtered by cluster and state, up to `query.limit`. @internal */
export function listNodes(fleet: Fleet, query: NodeQuery): NodeStatus[] {
  const source =
    query.cluster === undefined
      ? fleet.nodes.values()
      : (fleet.clusters.get(query.cluster)?.nodes.values() ?? [].values());
  const selected: NodeRecord[] = [];
  for (const node of source) {
    if (query.state === undefined || node.state === query.state) selected.push(node);
  }
  selected.sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
  const limit = query.limit ?? selected.length;
  return selected.slice(0, limit).map((node) => nodeStatus(fleet, node));
}

/** One cluster's summary: desired hash, rollout and node counts per state. @internal */
export function clusterSummary(cluster: ClusterRecord): ClusterSummary {
  const counts = {} as Record<NodeState, number>;
  let total = 0;
  for (let i = 0; i < NODE_STATES.length; i++) {
    const n = cluster.counts[i] as number;
    counts[NODE_STATES[i] as NodeState] = n;
    total += n;
  }
  const rollout = cluster.rollout;
  return {
    cluster: cluster.name,
    desired_hash: cluster.desired?.artifact_hash ?? null,
    desired_version: cluster.desired?.version ?? 0,
    rollout:
      rollout === null
        ? null
        : {
            previous_hash: rollout.previous_hash,
            started_at: rollout.started_at,
            deadline: rollout.deadline,
            status: rollout.status,
          },
    counts,
    total,
  };
}

/** Every cluster's summary, sorted by name. @internal */
export function fleetSummary(fleet: Fleet): ClusterSummary[] {
  return [...fleet.clusters.keys()]
    .sort()
    .map((name) => clusterSummary(fleet.clusters.get(name) as ClusterRecord));
}
