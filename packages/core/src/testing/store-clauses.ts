import type { ContractClause } from './api.js';

/**
 * The rules of the fleet store contract that `describeFleetStoreConformance` checks, each named
 * in the failures it causes.
 *
 * @public
 */
export const STORE_CLAUSES = {
  empty: { id: 'store.empty', text: 'a new store holds nothing and is at revision 0' },
  desired: {
    id: 'store.desired',
    text:
      'desired state versions rise by one per change; a stale expected_version is refused with ' +
      'PLB_STORE_CONFLICT, and of concurrent writers with the same expected_version exactly one wins',
  },
  pinsExpected: {
    id: 'store.pins-expected',
    text: 'pins and expected inventories are stored, replaced and removed as written',
  },
  observed: {
    id: 'store.observed',
    text:
      'saveObserved stores every row of a batch, whatever its size (the monitor sends every ' +
      'changed node in one batch), exactly as given, nulls included; deleteObserved forgets a node',
  },
  live: {
    id: 'store.live',
    text:
      "a node's saved live-configuration report (protocol v1.1) is loaded back exactly as saved, " +
      'and a later save without one replaces it',
  },
  callOrder: {
    id: 'store.call-order',
    text:
      'calls that overlap take effect in the order they were made: the last save of a node, ' +
      'the last pin, the last desired state wins',
  },
  copies: {
    id: 'store.copies',
    text: 'what load returns is a copy: changing it afterwards changes nothing stored',
  },
  feed: {
    id: 'store.feed',
    text:
      'every configuration change reaches every listener once, in revision order, with rising ' +
      'revisions; a listener that throws harms no one; an unsubscribed listener hears nothing more',
  },
  replicas: {
    id: 'store.replicas',
    text:
      "another replica's feed delivers every change made through any replica, once and in " +
      'revision order, and compare-and-set holds across replicas',
  },
  closed: {
    id: 'store.closed',
    text: 'close is idempotent, and every call after it is refused with PLB_STORE_CLOSED',
  },
  durable: {
    id: 'store.durable',
    text: 'everything written is there after close and reopen, and versions continue',
  },
} as const satisfies Record<string, ContractClause>;
