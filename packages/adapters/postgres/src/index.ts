/**
 * `@plumbline/postgres`: a PostgreSQL fleet store shared by several Plumbline control-plane
 * replicas (versioned migrations, compare-and-set desired state, a LISTEN/NOTIFY change feed,
 * batched observed state, an advisory-lock sweep leader, buffering through connection loss).
 *
 * @packageDocumentation
 */
export * from './migrations.js';
export * from './store.js';
