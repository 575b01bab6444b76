/**
 * Sessions (the hot path): a node's `hello`, its heartbeats and the end of its session, and the
 * removal of a decommissioned node.
 *
 * @internal
 * @packageDocumentation
 */
import type { ConnectOptions, ConnectResult } from '../monitor-types.js';
import type { HeartbeatFrame, HelloFrame } from '../protocol.js';
import { DriftCloseCode, isSupportedProtocol } from '../protocol.js';
import type { DriftIdentity } from '../transport.js';
import type { Fleet } from './fleet.js';
import { sameLive, sameLoadError, sameWorkers, type NodeRecord } from './records.js';

/** Why a hello is refused before the node is looked at, or `null`. */
function refuseHello(
  fleet: Fleet,
  identity: DriftIdentity,
  hello: HelloFrame,
): ConnectResult | null {
  if (fleet.closed) {
    return {
      ok: false,
      code: 'PLB_DRIFT_SHUTDOWN',
      message: 'the control plane is shutting down',
      close_code: DriftCloseCode.Shutdown,
    };
  }
  if (!isSupportedProtocol(hello.protocol)) {
    fleet.countRejected('protocol');
    return {
      ok: false,
      code: 'PLB_DRIFT_UNSUPPORTED_PROTOCOL',
      message: `protocol ${hello.protocol.slice(0, 64)} is not supported; this control plane speaks plumbline.drift/v1`,
      close_code: DriftCloseCode.Malformed,
    };
  }
  if (hello.node_id !== identity.node_id || hello.cluster !== identity.cluster) {
    fleet.countRejected('identity_mismatch');
    return {
      ok: false,
      code: 'PLB_DRIFT_IDENTITY_MISMATCH',
      message: 'the hello names another node or cluster than the authenticated identity',
      close_code: DriftCloseCode.IdentityMismatch,
    };
  }
  return null;
}

/** The `hello` of an authenticated session (see {@link FleetMonitor.connect}). @internal */
export function connectNode(
  fleet: Fleet,
  identity: DriftIdentity,
  hello: HelloFrame,
  session_id: string,
  options: ConnectOptions,
): ConnectResult {
  const refused = refuseHello(fleet, identity, hello);
  if (refused !== null) return refused;
  const now = fleet.clock.now();
  let node = fleet.nodes.get(identity.node_id);
  const cluster = fleet.cluster(identity.cluster);
  if (node === undefined) {
    if (!fleet.hasRoom()) {
      return {
        ok: false,
        code: 'PLB_DRIFT_FLEET_FULL',
        message: 'the control plane tracks its maximum number of nodes',
        close_code: DriftCloseCode.RateLimited,
      };
    }
    node = fleet.newNode(identity.node_id, cluster, 'never_seen', now);
  } else if (node.cluster !== cluster) {
    fleet.moveNode(node, cluster);
  }
  if (node.instance_id !== hello.instance_id) {
    node.instance_id = hello.instance_id;
    node.last_seq = 0;
  }
  node.session = session_id;
  node.closeCode = null;
  node.reported = hello.artifact_hash;
  node.workers = hello.workers ?? null;
  node.provenance = hello.provenance ?? null;
  node.helloProvenance = node.provenance;
  node.helloHash = hello.artifact_hash;
  node.loaded_at = hello.loaded_at ?? null;
  node.live = hello.live_config ?? null;
  node.reasons = hello.verification_reasons ?? null;
  node.last_seen = now;
  node.stale = false;
  node.awaiting = options.awaitingReport === true;
  node.remote = false;
  node.remoteConnected = false;
  fleet.liveness.touch(node);
  fleet.writer.mark(node);
  fleet.recompute(node, now);
  return { ok: true };
}

/** Copies what a heartbeat reports into the record; returns whether the node's facts changed. */
function applyReport(node: NodeRecord, frame: HeartbeatFrame): boolean {
  let changed = node.stale;
  node.stale = false;
  if (node.awaiting && frame.artifact_hash !== null) {
    node.awaiting = false;
    changed = true;
  }
  if (node.reported !== frame.artifact_hash) {
    node.reported = frame.artifact_hash;
    // Provenance travels only in `hello`: it describes the hash announced there, so a node that
    // reloads another artifact within its session has unknown provenance until it says hello again.
    node.provenance = frame.artifact_hash === node.helloHash ? node.helloProvenance : null;
    changed = true;
  }
  if (!sameWorkers(node.workers, frame.workers)) {
    node.workers = frame.workers ?? null;
    changed = true;
  }
  if (!sameLoadError(node.last_load_error, frame.last_load_error)) {
    node.last_load_error = frame.last_load_error ?? null;
    changed = true;
  }
  if (!sameLive(node.live, frame.live_config)) changed = true;
  node.live = frame.live_config ?? null;
  node.reasons = frame.verification_reasons ?? null;
  return changed;
}

/** A heartbeat of the node's current session (see {@link FleetMonitor.heartbeat}). @internal */
export function acceptHeartbeat(
  fleet: Fleet,
  node_id: string,
  session_id: string,
  frame: HeartbeatFrame,
): boolean {
  const node = fleet.nodes.get(node_id);
  if (node === undefined || node.session !== session_id) {
    fleet.countRejected('out_of_order');
    return false;
  }
  if (frame.seq <= node.last_seq) {
    fleet.replayed++;
    return false;
  }
  fleet.heartbeats++;
  const now = fleet.clock.now();
  node.last_seq = frame.seq;
  node.last_seen = now;
  fleet.writer.seen(node);
  fleet.liveness.touch(node);
  const changed = applyReport(node, frame);
  const loadedAt = frame.loaded_at ?? node.loaded_at;
  if (loadedAt !== node.loaded_at) {
    node.loaded_at = loadedAt;
    fleet.writer.mark(node);
  }
  if (changed) {
    fleet.writer.mark(node);
    fleet.recompute(node, now);
  }
  return true;
}

/** The end of a node's session; a late close of a replaced session is ignored. @internal */
export function endSession(
  fleet: Fleet,
  node_id: string,
  session_id: string,
  close_code: number | null,
): void {
  const node = fleet.nodes.get(node_id);
  if (node === undefined || node.session !== session_id) return;
  node.session = null;
  node.stale = false;
  node.closeCode = close_code;
  fleet.liveness.unlink(node);
  fleet.writer.mark(node);
  fleet.recompute(node, fleet.clock.now());
}

/**
 * Removes a disconnected or never-seen node that is not expected (nor connected to another replica
 * sharing the store). @internal
 */
export async function forgetNode(fleet: Fleet, node_id: string): Promise<boolean> {
  const node = fleet.nodes.get(node_id);
  if (node === undefined || node.session !== null || node.expected) return false;
  // Connected to another replica sharing the store: not disconnected either.
  if (node.remote && node.remoteConnected) return false;
  fleet.removeNode(node);
  try {
    await fleet.store.deleteObserved(node_id);
  } catch (error) {
    fleet.writer.storeErrors++;
    fleet.announcer.warn('the fleet store could not delete a node', error);
  }
  return true;
}
