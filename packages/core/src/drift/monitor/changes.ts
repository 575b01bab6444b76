/**
 * What the store holds and what it reports changing, applied to a monitor's records: the load at
 * start, and the change feed (this replica's own writes and, with a shared store, every other
 * replica's). Configuration changes are announced by the replica that made them, once.
 *
 * @internal
 * @packageDocumentation
 */
import type { FleetChange, FleetObservedChange, FleetSeenChange, DesiredState } from '../store.js';
import { desiredClearedEventId, desiredEventId } from './announce.js';
import type { Fleet } from './fleet.js';
import { copyObserved, iso } from './records.js';
import { auditRolloutStarted, clearRolloutTimer, startRollout } from './rollouts.js';

/**
 * Loads the store's contents: nodes seen before come back as `disconnected` (or `never_seen`),
 * nodes attached to another live replica of a shared store as that replica sees them; then follows
 * the store's change feed and its reports of dropped observed state. Returns the function that
 * stops following them.
 *
 * @internal
 */
export async function loadFleet(fleet: Fleet): Promise<() => void> {
  const snapshot = await fleet.store.load();
  const now = fleet.clock.now();
  for (const pin of snapshot.pins) fleet.pins.set(pin.node_id, pin);
  for (const observed of snapshot.observed) {
    const cluster = fleet.cluster(observed.cluster);
    const lastSeen = observed.last_seen === null ? -1 : Date.parse(observed.last_seen);
    const node = fleet.newNode(
      observed.node_id,
      cluster,
      lastSeen >= 0 ? 'disconnected' : 'never_seen',
      lastSeen >= 0 ? lastSeen : now,
    );
    copyObserved(node, observed);
    node.last_seen = lastSeen;
    // A store shared by replicas (one that can claim facts) says which nodes are attached to
    // another live replica; a single-process store's records are all from before this start.
    if (fleet.shared && observed.connected === true) {
      node.remote = true;
      node.remoteConnected = true;
      node.stale = observed.stale === true;
      node.awaiting = observed.awaiting_report === true;
    }
  }
  for (const expected of snapshot.expected)
    applyExpected(fleet, expected.cluster, expected.nodes, false);
  for (const desired of snapshot.desired) applyDesired(fleet, desired, false);
  for (const node of fleet.nodes.values()) {
    if (node.remote) fleet.recompute(node, now);
  }
  const offFeed = fleet.store.subscribe((change) => {
    // The feed is the store's code calling back: a change of the wrong shape is reported here,
    // never thrown into the store's delivery loop.
    try {
      applyChange(fleet, change);
    } catch (error) {
      fleet.announcer.warn('a fleet store change could not be applied', error);
    }
  });
  const offDrops = fleet.store.onObservedDropped?.((drop) => fleet.noteDropped(drop));
  return () => {
    offFeed();
    offDrops?.();
  };
}

/** Applies one change of the store's feed. @internal */
export function applyChange(fleet: Fleet, change: FleetChange): void {
  if (fleet.closed) return;
  // Configuration changes are announced by the replica that made them (one alert per fact).
  const local = change.kind === 'observed' || change.kind === 'seen' || change.local !== false;
  switch (change.kind) {
    case 'desired':
      applyDesired(fleet, change.desired, local);
      break;
    case 'desired_cleared':
      applyCleared(fleet, change.cluster, change.actor, local);
      break;
    case 'pin':
      fleet.pins.set(change.pin.node_id, change.pin);
      fleet.recomputeNode(change.pin.node_id);
      break;
    case 'pin_removed':
      if (fleet.pins.delete(change.node_id)) fleet.recomputeNode(change.node_id);
      break;
    case 'expected':
      applyExpected(fleet, change.expected.cluster, change.expected.nodes, local);
      break;
    case 'observed':
      applyObserved(fleet, change);
      break;
    case 'seen':
      applySeen(fleet, change);
      break;
    case 'observed_deleted': {
      // Forgotten on another replica: dropped here too, unless its session is here now.
      const node = fleet.nodes.get(change.node_id);
      if (node !== undefined && node.session === null && !node.expected) fleet.removeNode(node);
      break;
    }
    default:
      break;
  }
}

/**
 * The observed state of a node attached to another replica: shown here as that replica sees it.
 * Its alerts are that replica's to announce, unless the store says this replica announces them
 * (the sweep leader, for a node whose replica died).
 */
function applyObserved(fleet: Fleet, change: FleetObservedChange): void {
  const observed = change.node;
  let node = fleet.nodes.get(observed.node_id);
  // A session here is the freshest truth about the node.
  if (node !== undefined && node.session !== null) return;
  const now = fleet.clock.now();
  const cluster = fleet.cluster(observed.cluster);
  if (node === undefined) {
    if (!fleet.hasRoom()) return;
    node = fleet.newNode(observed.node_id, cluster, 'never_seen', now);
  } else if (node.cluster !== cluster) {
    fleet.moveNode(node, cluster);
  }
  node.remote = true;
  fleet.writer.forget(node);
  node.dirty = false;
  node.remoteConnected = observed.connected === true;
  node.stale = observed.stale === true;
  node.awaiting = observed.awaiting_report === true;
  copyObserved(node, observed);
  node.last_seen = observed.last_seen === null ? -1 : Date.parse(observed.last_seen);
  const outer = fleet.announceRemote;
  fleet.announceRemote = change.announce;
  try {
    fleet.recompute(node, now);
  } finally {
    fleet.announceRemote = outer;
  }
}

/**
 * A newer heartbeat time of a node attached to another replica: only `last_seen` and `last_seq`
 * move (its state is that replica's to write, as an `observed` change). Ignored for a node shown
 * here from its own session, a node not shown yet, and a time not newer than the one shown.
 */
function applySeen(fleet: Fleet, change: FleetSeenChange): void {
  const node = fleet.nodes.get(change.node_id);
  if (node === undefined || node.session !== null || !node.remote) return;
  const at = Date.parse(change.last_seen);
  if (!(at > node.last_seen)) return;
  node.last_seen = at;
  if (Number.isSafeInteger(change.last_seq) && change.last_seq >= 0)
    node.last_seq = change.last_seq;
}

function applyDesired(fleet: Fleet, desired: DesiredState, emit: boolean): void {
  const cluster = fleet.cluster(desired.cluster);
  if (cluster.desired !== null && cluster.desired.version >= desired.version) return;
  const previous = cluster.desired?.artifact_hash ?? null;
  cluster.desired = desired;
  startRollout(fleet.rollouts, cluster, desired);
  if (emit) {
    const event = {
      type: 'desired_state.changed' as const,
      // One id for the fact on every path (alert, audit), whichever replica announces it.
      id: desiredEventId(desired),
      at: iso(fleet.clock.now()),
      cluster: desired.cluster,
      artifact_hash: desired.artifact_hash,
      previous_hash: previous,
      version: desired.version,
      actor: desired.actor,
      reason: desired.reason,
      rollout: desired.rollout,
    };
    fleet.announcer.emit(event);
    if (desired.rollout !== null) auditRolloutStarted(fleet.rollouts, event);
  }
  fleet.recomputeCluster(cluster);
}

function applyCleared(fleet: Fleet, name: string, actor: string, emit: boolean): void {
  const cluster = fleet.clusters.get(name);
  if (cluster === undefined || cluster.desired === null) return;
  const cleared = cluster.desired;
  const previous = cleared.artifact_hash;
  cluster.desired = null;
  clearRolloutTimer(fleet.rollouts, cluster);
  cluster.rollout = null;
  if (emit)
    fleet.announcer.emit({
      type: 'desired_state.changed',
      id: desiredClearedEventId(cleared),
      at: iso(fleet.clock.now()),
      cluster: name,
      artifact_hash: null,
      previous_hash: previous,
      version: 0,
      actor,
      reason: 'cleared',
      rollout: null,
    });
  fleet.recomputeCluster(cluster);
}

function applyExpected(fleet: Fleet, name: string, nodes: readonly string[], emit: boolean): void {
  const cluster = fleet.cluster(name);
  const next = new Set(nodes);
  for (const node of [...cluster.nodes]) {
    if (node.expected && !next.has(node.node_id)) {
      node.expected = false;
      if (node.last_seen < 0 && node.session === null) fleet.removeNode(node);
    }
  }
  for (const id of next) {
    let node = fleet.nodes.get(id);
    if (node === undefined) {
      if (!fleet.hasRoom()) continue;
      node = fleet.newNode(id, cluster, 'never_seen', fleet.clock.now());
      node.expected = true;
      if (emit) fleet.announcer.announceNeverSeen(node);
    } else {
      node.expected = true;
    }
  }
  cluster.expected = next;
}
