/**
 * The fleet monitor, split by concern under `monitor/`, behind one public {@link FleetMonitor}
 * (`fleet-monitor.ts`, a short composition): the node-state rule (`state.ts`), the records
 * (`records.ts`) and their judging (`fleet.ts`), the store's load and change feed (`changes.ts`),
 * sessions (`sessions.ts`), configuration (`admin.ts`), queries (`queries.ts`), announcements —
 * events, sinks, audit — (`announce.ts`), rollouts (`rollouts.ts`), liveness — sweep, flap damping —
 * (`liveness.ts`) and persistence (`persistence.ts`).
 *
 * @packageDocumentation
 */
export { FleetMonitor } from './monitor/fleet-monitor.js';
export { decideNodeState } from './monitor/state.js';
export type { DesiredFacts, NodeFacts } from './monitor/state.js';
