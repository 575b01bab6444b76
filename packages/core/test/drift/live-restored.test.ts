import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DRIFT_PROTOCOL_V1_1,
  FleetMonitor,
  MemoryFleetStore,
  type FleetStore,
  type LiveConfigReport,
} from '@plumbline/core/drift';
import { FileFleetStore } from '@plumbline/core/node';

const root = await mkdtemp(join(tmpdir(), 'plb-live-restored-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const H1 = `sha256:${'1'.repeat(64)}` as const;
const H3 = `sha256:${'3'.repeat(64)}` as const;
const LIVE: LiveConfigReport = {
  probe: 'caddy',
  status: 'ok',
  digest: H3,
  expected_digest: H1,
  differences: ['/apps/http/servers/srv0/routes/0'],
  at: '2026-01-01T00:00:01.000Z',
};

/** A monitor sees a node reporting `LIVE`, stops; a new monitor starts over `reopen()`. */
async function runAndRestart(store: FleetStore, reopen: () => Promise<FleetStore>) {
  const first = await FleetMonitor.create({ store });
  await first.setDesired({ cluster: 'prod', artifact_hash: H1, actor: 'a', reason: 'r' });
  const hello = {
    type: 'hello',
    protocol: DRIFT_PROTOCOL_V1_1,
    node_id: 'n1',
    cluster: 'prod',
    instance_id: 'i1',
    artifact_hash: H1,
    live_config: LIVE,
  } as const;
  expect(first.connect({ node_id: 'n1', cluster: 'prod', principal: 'p' }, hello, 's1').ok).toBe(
    true,
  );
  expect(first.node('n1')?.state).toBe('drift');
  await first.close();
  const again = await reopen();
  const second = await FleetMonitor.create({ store: again });
  const status = second.node('n1');
  await second.close();
  await again.close();
  return status;
}

describe("a node's live-configuration report survives a restart of the control plane", () => {
  it('with the file store', async () => {
    const path = join(root, 'fleet.json');
    const store = await FileFleetStore.open({ path, fsync: false });
    const status = await runAndRestart(store, async () => {
      await store.close();
      return FileFleetStore.open({ path, fsync: false });
    });
    expect(status).toMatchObject({ state: 'disconnected', live_config: LIVE });
  });

  it('with the memory store (a monitor restarted over the same store)', async () => {
    const store = new MemoryFleetStore();
    const status = await runAndRestart(store, async () => store);
    expect(status).toMatchObject({ state: 'disconnected', live_config: LIVE });
  });
});
