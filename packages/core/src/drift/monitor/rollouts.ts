/**
 * Rollouts: a desired state with a window during which the previous artifact is allowed; it
 * completes when every judged node of the cluster runs the new one, or exceeds its deadline.
 *
 * @internal
 * @packageDocumentation
 */
import type { AuditActor } from '../../audit/index.js';
import {
  rolloutCompleted,
  rolloutDeadlineExceeded,
  rolloutStarted,
} from '../../audit/catalogue.js';
import type { Clock } from '../clock.js';
import type {
  DesiredStateChangedEvent,
  FleetEvent,
  RolloutCompletedEvent,
  RolloutDeadlineExceededEvent,
} from '../events.js';
import type { DesiredState } from '../store.js';
import type { Announcer } from './announce.js';
import { iso, type ClusterRecord, type RolloutRecord } from './records.js';
import { STATE_INDEX } from './state.js';

/** What the rollout logic needs from the monitor. @internal */
export interface RolloutContext {
  readonly clock: Clock;
  readonly announcer: Announcer;
  readonly closed: () => boolean;
  /** Re-judges every node of a cluster. */
  readonly recomputeCluster: (cluster: ClusterRecord) => void;
  /**
   * Announces a fact every replica sees (once fleet-wide, under the id of its key); `also` runs
   * with the announced event where it is announced.
   */
  readonly announceFact: (
    key: string,
    event: FleetEvent,
    also?: (event: FleetEvent) => void,
  ) => void;
}

const actor: AuditActor = { type: 'system', id: 'fleet-monitor' };

/** The audit fields of a rollout event: the same fact, under the same event id. */
function auditFacts(event: {
  readonly id: string;
  readonly cluster: string;
  readonly artifact_hash: string;
  readonly version: number;
  readonly rollout: { previous_hash: string | null; started_at: string; deadline: string };
}) {
  return {
    cluster: event.cluster,
    artifact_hash: event.artifact_hash,
    previous_hash: event.rollout.previous_hash,
    version: event.version,
    started_at: event.rollout.started_at,
    deadline: event.rollout.deadline,
    event_id: event.id,
  };
}

/**
 * Audits the start of a rollout, announced with its desired state by the replica that set it
 * (`fleet.rollout_started`, carrying the `desired_state.changed` event's id). @internal
 */
export function auditRolloutStarted(ctx: RolloutContext, event: DesiredStateChangedEvent): void {
  if (event.rollout === null || event.artifact_hash === null) return;
  ctx.announcer.auditLater(
    rolloutStarted({
      actor,
      time: event.at,
      details: auditFacts({ ...event, artifact_hash: event.artifact_hash, rollout: event.rollout }),
    }),
  );
}

/** Audits a rollout's outcome with the id of the alert announcing it. */
function auditOutcome(ctx: RolloutContext, event: FleetEvent): void {
  if (event.type === 'rollout.completed') {
    const e: RolloutCompletedEvent = event;
    ctx.announcer.auditLater(rolloutCompleted({ actor, time: e.at, details: auditFacts(e) }));
  } else if (event.type === 'rollout.deadline_exceeded') {
    const e: RolloutDeadlineExceededEvent = event;
    ctx.announcer.auditLater(
      rolloutDeadlineExceeded({
        actor,
        time: e.at,
        details: { ...auditFacts(e), lagging: e.lagging, lagging_nodes: [...e.lagging_nodes] },
      }),
    );
  }
}

/** Cancels a cluster's deadline timer. @internal */
export function clearRolloutTimer(ctx: RolloutContext, cluster: ClusterRecord): void {
  if (cluster.rollout !== null && cluster.rollout.timer !== null) {
    ctx.clock.clearTimeout(cluster.rollout.timer);
    cluster.rollout.timer = null;
  }
}

/** Starts the rollout of a newly applied desired state (or none when it has no window). @internal */
export function startRollout(
  ctx: RolloutContext,
  cluster: ClusterRecord,
  desired: DesiredState,
): void {
  clearRolloutTimer(ctx, cluster);
  cluster.rollout = null;
  if (desired.rollout === null) return;
  const deadlineMs = Date.parse(desired.rollout.deadline);
  const rollout: RolloutRecord = {
    ...desired.rollout,
    deadlineMs,
    status: 'in_progress',
    timer: null,
  };
  cluster.rollout = rollout;
  const now = ctx.clock.now();
  if (deadlineMs <= now) rollout.status = 'deadline_exceeded';
  else
    rollout.timer = ctx.clock.setTimeout(
      () => rolloutDeadline(ctx, cluster, rollout),
      deadlineMs - now,
    );
}

/** The fields every rollout event carries. */
function rolloutFields(
  ctx: RolloutContext,
  cluster: ClusterRecord,
  desired: DesiredState,
  rollout: RolloutRecord,
) {
  return {
    id: ctx.announcer.newEventId(),
    at: iso(ctx.clock.now()),
    cluster: cluster.name,
    artifact_hash: desired.artifact_hash,
    version: desired.version,
    rollout: {
      previous_hash: rollout.previous_hash,
      started_at: rollout.started_at,
      deadline: rollout.deadline,
    },
  };
}

/** Completes the cluster's rollout when no judged node lags and one runs the new artifact. @internal */
export function checkRollout(ctx: RolloutContext, cluster: ClusterRecord): void {
  const rollout = cluster.rollout;
  if (rollout === null || rollout.status !== 'in_progress' || cluster.desired === null) return;
  const c = cluster.counts;
  if (
    (c[STATE_INDEX.pending] as number) +
      (c[STATE_INDEX.drift] as number) +
      (c[STATE_INDEX.rejected] as number) +
      (c[STATE_INDEX.stale] as number) >
    0
  )
    return;
  if ((c[STATE_INDEX.in_sync] as number) === 0) return;
  rollout.status = 'completed';
  clearRolloutTimer(ctx, cluster);
  ctx.announceFact(
    `rollout.completed|${cluster.name}|${cluster.desired.version}`,
    { type: 'rollout.completed', ...rolloutFields(ctx, cluster, cluster.desired, rollout) },
    (event) => auditOutcome(ctx, event),
  );
}

function rolloutDeadline(
  ctx: RolloutContext,
  cluster: ClusterRecord,
  rollout: RolloutRecord,
): void {
  rollout.timer = null;
  if (
    ctx.closed() ||
    cluster.rollout !== rollout ||
    rollout.status !== 'in_progress' ||
    cluster.desired === null
  )
    return;
  rollout.status = 'deadline_exceeded';
  ctx.recomputeCluster(cluster);
  const lagging: string[] = [];
  for (const node of cluster.nodes) {
    if (
      node.state === 'drift' ||
      node.state === 'rejected' ||
      node.state === 'pending' ||
      node.state === 'stale'
    )
      lagging.push(node.node_id);
  }
  lagging.sort();
  ctx.announceFact(
    `rollout.deadline_exceeded|${cluster.name}|${cluster.desired.version}`,
    {
      type: 'rollout.deadline_exceeded',
      ...rolloutFields(ctx, cluster, cluster.desired, rollout),
      lagging: lagging.length,
      lagging_nodes: lagging.slice(0, 100),
    },
    (event) => auditOutcome(ctx, event),
  );
}
