import type { ContractClause } from './api.js';

/**
 * The rules of the audit sink contract that `describeAuditSinkConformance` checks, each named in
 * the failures it causes.
 *
 * @public
 */
export const AUDIT_SINK_CLAUSES = {
  exact: {
    id: 'audit-sink.exact',
    text:
      'when write resolves, the exact JSON of every record it was given is stored, in order, ' +
      'however many records the storage already holds, large and non-ASCII events byte for byte',
  },
  callOrder: {
    id: 'audit-sink.call-order',
    text: 'concurrent writes are stored in the order they were called, and an empty write is fine',
  },
  noMutation: {
    id: 'audit-sink.no-mutation',
    text: 'a sink never changes the records it is given',
  },
  mustWrite: {
    id: 'audit-sink.must-write',
    text: 'used as a must-write sink of an AuditLogger, an event is stored when emit resolves',
  },
  lifecycle: {
    id: 'audit-sink.lifecycle',
    text:
      'flush waits for what was accepted, close is idempotent, and a write after close is ' +
      'refused with PLB_AUDIT_SINK_CLOSED, never accepted and dropped',
  },
  writeLines: {
    id: 'audit-sink.write-lines',
    text:
      'writeLines stores the same bytes as write, in call order with it, and keeps no chunk ' +
      'after its promise settled',
  },
  durable: {
    id: 'audit-sink.durable',
    text: 'everything written is still stored after close and reopen',
  },
} as const satisfies Record<string, ContractClause>;
