import type { DesiredState, FleetChange, ObservedNode } from '../drift/store.js';
import {
  check,
  checkEqual,
  clauseRunnerWith,
  rejectsWith,
  suiteContext,
  withFreshHarness,
  waitFor,
  type ConformanceOptions,
  type ConformanceTestApi,
} from './api.js';
import { STORE_CLAUSES as S } from './store-clauses.js';
import { registerStoreStressTests } from './store-stress-tests.js';
import {
  AT,
  H1,
  H2,
  H3,
  LIVE,
  desiredInput,
  observed,
  pinInput,
  withReplica,
  type FleetStoreFactory,
  type FleetStoreHarness,
  type WithStore,
} from './store-fixtures.js';

export { STORE_CLAUSES } from './store-clauses.js';
export type { FleetStoreFactory, FleetStoreHarness } from './store-fixtures.js';

/**
 * Registers the {@link drift.FleetStore | FleetStore} conformance suite: compare-and-set of desired state (also
 * under concurrency and across replicas), pins, expected inventory, observed state, the change
 * feed (order, revisions, unsubscribe), durability across reopen, and `PLB_STORE_CLOSED`.
 *
 * @example
 * ```ts
 * import { describeFleetStoreConformance } from '@plumbline/core/testing';
 * await describeFleetStoreConformance('postgres', async () => {
 *   const schema = await freshSchema();
 *   return { store: await PostgresFleetStore.open({ schema }),
 *            reopen: () => PostgresFleetStore.open({ schema }),
 *            replica: () => PostgresFleetStore.open({ schema }) };
 * });
 * ```
 * @public
 */
export async function describeFleetStoreConformance(
  name: string,
  factory: FleetStoreFactory,
  options: ConformanceOptions = {},
): Promise<void> {
  const { api, timeout } = await suiteContext(options);

  const withStore = (body: (harness: FleetStoreHarness) => Promise<void>): Promise<void> =>
    withFreshHarness(factory, (h) => h.store.close(), body);

  api.describe(`fleet store conformance: ${name}`, () => {
    registerDesiredTests(api, timeout, withStore);
    registerPinsAndObservedTests(api, timeout, withStore);
    registerLiveAndFeedTests(api, timeout, withStore);
    registerLifecycleTests(api, timeout, withStore);
    registerStoreStressTests(api, timeout, withStore);
  });
}

/** A new store is empty; desired state and compare-and-set. */
function registerDesiredTests(
  api: ConformanceTestApi,
  timeout: number,
  withStore: WithStore,
): void {
  const clause = clauseRunnerWith(api, withStore, timeout);
  clause(S.empty, 'starts empty at revision 0', async ({ store }) => {
    const snapshot = await store.load();
    checkEqual(
      snapshot,
      { revision: 0, desired: [], pins: [], expected: [], observed: [] },
      'empty snapshot',
    );
  });

  clause(
    S.desired,
    'sets desired state with rising versions and compare-and-set',
    async ({ store }) => {
      const first = await store.setDesired(desiredInput('prod', H1, { expected_version: 0 }));
      checkEqual(first.version, 1, 'first version');
      checkEqual(first.artifact_hash, H1, 'hash');
      const rollout = {
        previous_hash: H1,
        started_at: AT,
        deadline: '2026-01-01T01:00:00.000Z',
      };
      const second = await store.setDesired(
        desiredInput('prod', H2, { expected_version: 1, rollout }),
      );
      checkEqual(second.version, 2, 'second version');
      checkEqual(second.rollout, rollout, 'rollout');
      await rejectsWith(
        () => store.setDesired(desiredInput('prod', H3, { expected_version: 1 })),
        'PLB_STORE_CONFLICT',
        'a stale expected_version',
      );
      await rejectsWith(
        () => store.setDesired(desiredInput('staging', H3, { expected_version: 5 })),
        'PLB_STORE_CONFLICT',
        'an expected_version on a cluster without desired state',
      );
      const third = await store.setDesired(desiredInput('prod', H3));
      checkEqual(third.version, 3, 'version without compare-and-set');
      const snapshot = await store.load();
      checkEqual(snapshot.desired, [third], 'stored desired state');
    },
  );

  clause(
    S.desired,
    'lets exactly one of two concurrent compare-and-set writers win',
    async ({ store }) => {
      const results = await Promise.allSettled([
        store.setDesired(desiredInput('prod', H1, { expected_version: 0 })),
        store.setDesired(desiredInput('prod', H2, { expected_version: 0 })),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      checkEqual([won.length, lost.length], [1, 1], 'winners and losers');
      checkEqual(
        ((lost[0] as PromiseRejectedResult).reason as { code?: string }).code,
        'PLB_STORE_CONFLICT',
        'loser code',
      );
      const snapshot = await store.load();
      checkEqual(snapshot.desired.length, 1, 'desired states');
      checkEqual(snapshot.desired[0]?.version, 1, 'version');
    },
  );

  clause(
    S.desired,
    'clears desired state (and ignores clearing an absent one)',
    async ({ store }) => {
      await store.setDesired(desiredInput('prod', H1));
      await store.clearDesired('prod', 'bob');
      await store.clearDesired('absent', 'bob');
      checkEqual((await store.load()).desired, [], 'desired after clear');
      const again = await store.setDesired(desiredInput('prod', H2, { expected_version: 0 }));
      check(again.version >= 1, 'version after clear');
    },
  );
}

/** Pins, expected inventories and observed state. */
function registerPinsAndObservedTests(
  api: ConformanceTestApi,
  timeout: number,
  withStore: WithStore,
): void {
  const clause = clauseRunnerWith(api, withStore, timeout);
  clause(
    S.pinsExpected,
    'stores, replaces and removes pins and expected inventories',
    async ({ store }) => {
      await store.setPin(pinInput('n1', H1, 'canary'));
      await store.setPin(pinInput('n1', H2, 'canary 2'));
      await store.setPin(pinInput('n0', H3, 'hold'));
      await store.setExpected({
        cluster: 'prod',
        nodes: ['n3', 'n1', 'n2', 'n1'],
        actor: 'a',
        changed_at: AT,
      });
      await store.setExpected({ cluster: 'edge', nodes: [], actor: 'a', changed_at: AT });
      let snapshot = await store.load();
      checkEqual(
        snapshot.pins.map((p) => [p.node_id, p.artifact_hash]),
        [
          ['n0', H3],
          ['n1', H2],
        ],
        'pins',
      );
      checkEqual(
        snapshot.expected.map((e) => [e.cluster, e.nodes]),
        [
          ['edge', []],
          ['prod', ['n1', 'n2', 'n3']],
        ],
        'expected',
      );
      await store.removePin('n1', 'a');
      await store.removePin('absent', 'a');
      await store.setExpected({ cluster: 'prod', nodes: ['n9'], actor: 'a', changed_at: AT });
      snapshot = await store.load();
      checkEqual(
        snapshot.pins.map((p) => p.node_id),
        ['n0'],
        'pins after removal',
      );
      checkEqual(
        snapshot.expected.find((e) => e.cluster === 'prod')?.nodes,
        ['n9'],
        'replaced inventory',
      );
    },
  );

  clause(S.observed, 'upserts and deletes observed state in batches', async ({ store }) => {
    await store.saveObserved([observed('n2', 'prod', 1), observed('n1', 'prod', 1)]);
    await store.saveObserved([observed('n1', 'prod', 9)]);
    await store.saveObserved([]);
    let snapshot = await store.load();
    checkEqual(
      snapshot.observed,
      [observed('n1', 'prod', 9), observed('n2', 'prod', 1)],
      'observed',
    );
    await store.deleteObserved('n2');
    await store.deleteObserved('absent');
    snapshot = await store.load();
    checkEqual(
      snapshot.observed.map((o) => o.node_id),
      ['n1'],
      'observed after delete',
    );
    const never: ObservedNode = {
      ...observed('n3', 'edge', 0),
      instance_id: null,
      reported_hash: null,
      workers: null,
      provenance: null,
      loaded_at: null,
      last_load_error: null,
      last_seen: null,
    };
    await store.saveObserved([never]);
    checkEqual(
      (await store.load()).observed.find((o) => o.node_id === 'n3'),
      never,
      'nulls round-trip',
    );
  });
}

/** Live-configuration reports and the change feed. */
function registerLiveAndFeedTests(
  api: ConformanceTestApi,
  timeout: number,
  withStore: WithStore,
): void {
  const clause = clauseRunnerWith(api, withStore, timeout);
  clause(S.live, "keeps a node's live-configuration report", async ({ store }) => {
    const failing = {
      probe: 'nginx',
      status: 'failing',
      digest: null,
      expected_digest: null,
      code: 'PLB_PROBE_UNREACHABLE',
      at: AT,
    } as const;
    await store.saveObserved([
      { ...observed('n1', 'prod', 1), live: LIVE },
      { ...observed('n2', 'prod', 1), live: failing },
      { ...observed('n3', 'prod', 1), live: null },
    ]);
    const first = await store.load();
    checkEqual(
      first.observed.map((o) => o.live),
      [LIVE, failing, null],
      'live reports after save',
    );
    await store.saveObserved([{ ...observed('n1', 'prod', 2), live: null }]);
    checkEqual(
      (await store.load()).observed.find((o) => o.node_id === 'n1')?.live,
      null,
      'live report replaced by a later save',
    );
  });

  clause(
    S.feed,
    'publishes every configuration change on the feed, in revision order',
    async ({ store }) => {
      const changes: FleetChange[] = [];
      const throwing = store.subscribe(() => {
        throw new Error('a listener that throws must not break the store');
      });
      const off = store.subscribe((c) => changes.push(c));
      await store.setDesired(desiredInput('prod', H1));
      await store.setPin(pinInput('n1', H2));
      await store.setExpected({ cluster: 'prod', nodes: ['n1'], actor: 'a', changed_at: AT });
      await store.removePin('n1', 'a');
      await store.clearDesired('prod', 'a');
      await store.saveObserved([observed('n1', 'prod', 1)]);
      await waitFor(() => changes.length >= 5, 'five changes', timeout);
      checkEqual(
        changes.map((c) => c.kind),
        ['desired', 'pin', 'expected', 'pin_removed', 'desired_cleared'],
        'kinds',
      );
      for (let i = 1; i < changes.length; i++) {
        check(
          (changes[i] as FleetChange).revision > (changes[i - 1] as FleetChange).revision,
          'revisions rise',
        );
      }
      checkEqual(
        (await store.load()).revision,
        changes[changes.length - 1]?.revision,
        'snapshot revision',
      );
      off();
      throwing();
      await store.setDesired(desiredInput('prod', H3));
      await new Promise((resolve) => setTimeout(resolve, 20));
      checkEqual(changes.length, 5, 'no change after unsubscribe');
    },
  );
}

/** Close, durability across reopen, and replicas. */
function registerLifecycleTests(
  api: ConformanceTestApi,
  timeout: number,
  withStore: WithStore,
): void {
  const clause = clauseRunnerWith(api, withStore, timeout);
  clause(S.closed, 'refuses calls after close with PLB_STORE_CLOSED', async ({ store }) => {
    await store.close();
    await store.close();
    await rejectsWith(() => store.load(), 'PLB_STORE_CLOSED', 'load after close');
    await rejectsWith(
      () => store.setDesired(desiredInput('prod', H1)),
      'PLB_STORE_CLOSED',
      'setDesired after close',
    );
  });

  clause(
    S.durable,
    'keeps everything across close and reopen (when the harness can reopen)',
    async (harness) => {
      if (harness.reopen === undefined) return;
      const { store } = harness;
      const desired: DesiredState = await store.setDesired(
        desiredInput('prod', H1, {
          rollout: { previous_hash: null, started_at: AT, deadline: AT },
        }),
      );
      await store.setPin(pinInput('n1', H2));
      await store.setExpected({
        cluster: 'prod',
        nodes: ['n1', 'n2'],
        actor: 'a',
        changed_at: AT,
      });
      await store.saveObserved([observed('n1', 'prod', 4)]);
      const before = await store.load();
      await store.close();
      const reopened = await harness.reopen();
      try {
        const after = await reopened.load();
        checkEqual(after, before, 'snapshot after reopen');
        checkEqual(after.desired[0], desired, 'desired after reopen');
        const next = await reopened.setDesired(desiredInput('prod', H3, { expected_version: 1 }));
        checkEqual(next.version, 2, 'version continues after reopen');
      } finally {
        await reopened.close();
      }
    },
  );

  clause(
    S.replicas,
    'converges replicas: the feed reaches the other replica and compare-and-set holds across them',
    (harness) =>
      withReplica(harness, async (store, other) => {
        const seen: FleetChange[] = [];
        other.subscribe((c) => seen.push(c));
        await store.setDesired(desiredInput('prod', H1, { expected_version: 0 }));
        await waitFor(
          () => seen.some((c) => c.kind === 'desired'),
          'the change on the other replica',
          timeout,
        );
        await rejectsWith(
          () => other.setDesired(desiredInput('prod', H2, { expected_version: 0 })),
          'PLB_STORE_CONFLICT',
          'a stale compare-and-set on the other replica',
        );
        const next = await other.setDesired(desiredInput('prod', H2, { expected_version: 1 }));
        checkEqual(next.version, 2, 'version set through the other replica');
        checkEqual((await store.load()).desired[0]?.artifact_hash, H2, 'first replica sees it');
      }),
  );
}
