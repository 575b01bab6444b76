/**
 * `@plumbline/core/drift`: the drift protocol v1 (frames, limits, close codes), the fleet monitor
 * and its events, the transport, store and alert-sink interfaces, the in-memory transport, the
 * data-plane reporter, and the log and webhook sinks.
 *
 * @packageDocumentation
 */
export * from './protocol.js';
export * from './transport.js';
export * from './store.js';
export * from './memory-store.js';
export * from './clock.js';
export * from './events.js';
export * from './sink.js';
export * from './monitor-types.js';
export * from './monitor.js';
export { DRIFT_METRICS } from './metrics.js';
export { desiredEventId } from './monitor/announce.js';
export * from './server.js';
export type { CollisionOptions, NameCollision } from './collision.js';
export * from './memory-transport.js';
export * from './reporter.js';
export * from './log-sink.js';
export * from './webhook-sink.js';
