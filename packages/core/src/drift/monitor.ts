/**
 * The fleet monitor, split by concern under `monitor/`: the node-state rule (`state.ts`),
 * records, announcements (events, sinks, audit), rollouts, liveness (sweep, flap damping) and
 * persistence, behind one public {@link FleetMonitor}.
 *
 * @packageDocumentation
 */
export { FleetMonitor } from './monitor/fleet-monitor.js';
export { decideNodeState } from './monitor/state.js';
export type { DesiredFacts, NodeFacts } from './monitor/state.js';
