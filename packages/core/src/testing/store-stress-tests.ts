import type { FleetChange, ObservedNode } from '../drift/store.js';
import { checkEqual, clauseRunnerWith, grace, waitFor, type ConformanceTestApi } from './api.js';
import { STORE_CLAUSES as S } from './store-clauses.js';
import {
  H1,
  H2,
  desiredInput,
  observed,
  pinInput,
  withReplica,
  type WithStore,
} from './store-fixtures.js';

/** Rows in the large batch: more than any page, chunk or parameter limit a store may have. */
const BIG_BATCH = 2500;

const byId = (a: ObservedNode, b: ObservedNode): number =>
  a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0;

/** Batches of any size, call order, copies, and replica feeds in order. @internal */
export function registerStoreStressTests(
  api: ConformanceTestApi,
  timeout: number,
  withStore: WithStore,
): void {
  const clause = clauseRunnerWith(api, withStore, timeout);
  clause(
    S.observed,
    `stores every row of a batch of ${BIG_BATCH} nodes`,
    async ({ store }) => {
      const rows = Array.from({ length: BIG_BATCH }, (_, i) =>
        observed(`n${String(i).padStart(5, '0')}`, i % 2 === 0 ? 'prod' : 'edge', i + 1),
      );
      await store.saveObserved(rows);
      const stored = [...(await store.load()).observed].sort(byId);
      checkEqual(stored.length, BIG_BATCH, 'observed rows stored');
      checkEqual(stored, rows, 'observed rows, exactly as given');
    },
    timeout * 3,
  );

  clause(S.callOrder, 'applies overlapping calls in call order', async ({ store }) => {
    const saves: Promise<void>[] = [];
    for (let seq = 1; seq <= 30; seq++) {
      saves.push(
        store.saveObserved([observed('n1', 'prod', seq), observed(`m${seq}`, 'prod', seq)]),
      );
    }
    const pins: Promise<void>[] = [];
    for (let i = 1; i <= 10; i++) {
      pins.push(store.setPin(pinInput('n1', i % 2 === 0 ? H2 : H1, `pin ${i}`)));
    }
    const desired = [1, 2, 3, 4, 5].map((i) =>
      store.setDesired(desiredInput('prod', i % 2 === 0 ? H2 : H1, { reason: `r${i}` })),
    );
    await Promise.all([...saves, ...pins, ...desired]);
    const snapshot = await store.load();
    checkEqual(
      snapshot.observed.find((o) => o.node_id === 'n1')?.last_seq,
      30,
      "the node's observed state after 30 overlapping saves (the last)",
    );
    checkEqual(snapshot.observed.length, 31, 'observed rows after the overlapping saves');
    checkEqual(snapshot.pins[0]?.reason, 'pin 10', 'the pin after 10 overlapping pins');
    checkEqual(snapshot.desired[0]?.reason, 'r5', 'the desired state after 5 overlapping sets');
    checkEqual(snapshot.desired[0]?.version, 5, 'its version');
  });
  registerStoreCopyAndFeedTests(api, timeout, withStore);
}

/** Copies, and replica feeds in order under load. */
function registerStoreCopyAndFeedTests(
  api: ConformanceTestApi,
  timeout: number,
  withStore: WithStore,
): void {
  const clause = clauseRunnerWith(api, withStore, timeout);
  clause(
    S.copies,
    'keeps what it stores apart from the snapshots it returned',
    async ({ store }) => {
      await store.saveObserved([observed('n1', 'prod', 1)]);
      const first = await store.load();
      (first.observed as ObservedNode[]).length = 0;
      (first.desired as unknown[]).push({ cluster: 'x' });
      const again = await store.load();
      checkEqual(again.observed.length, 1, 'stored rows after the caller changed a snapshot');
      checkEqual(again.desired.length, 0, 'desired states after the caller changed a snapshot');
    },
  );

  clause(
    S.replicas,
    "delivers a burst of changes to another replica's feed, all of them, in revision order",
    (harness) =>
      withReplica(harness, async (store, other) => {
        const seen: FleetChange[] = [];
        other.subscribe((c) => seen.push(c));
        const own: FleetChange[] = [];
        store.subscribe((c) => own.push(c));
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < 40; i++) {
          writes.push(store.setPin(pinInput(`n${i}`, H1, `pin ${i}`)));
          if (i % 10 === 0) writes.push(other.setDesired(desiredInput(`c${i}`, H2)));
        }
        await Promise.all(writes);
        await waitFor(() => seen.length >= 44, 'the 44 changes on the other replica', timeout);
        await waitFor(() => own.length >= 44, 'the 44 changes on the first replica', timeout);
        await grace();
        for (const [what, list] of [
          ['the other replica', seen],
          ['the first replica', own],
        ] as const) {
          checkEqual(list.length, 44, `changes delivered to ${what}`);
          const revisions = list.map((c) => c.revision);
          checkEqual(
            revisions,
            [...revisions].sort((a, b) => a - b),
            `revision order on ${what}`,
          );
          checkEqual(new Set(revisions).size, 44, `distinct revisions on ${what}`);
        }
        checkEqual(seen.filter((c) => c.kind === 'pin').length, 40, 'pins on the other replica');
      }),
    timeout * 2,
  );
}
