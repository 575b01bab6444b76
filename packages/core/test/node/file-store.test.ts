import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { FleetMonitor, ManualClock } from '@plumbline/core/drift';
import { FileFleetStore } from '@plumbline/core/node';
import { describeFleetStoreConformance } from '@plumbline/core/testing';

const root = await mkdtemp(join(tmpdir(), 'plb-file-store-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `state-${++n}.json`);
const H1 = `sha256:${'1'.repeat(64)}` as const;
const H2 = `sha256:${'2'.repeat(64)}` as const;

await describeFleetStoreConformance('FileFleetStore', async () => {
  const path = fresh();
  return {
    store: await FileFleetStore.open({ path }),
    reopen: () => FileFleetStore.open({ path }),
  };
});

describe('FileFleetStore', () => {
  it('writes a versioned JSON document and keeps the previous one as .bak', async () => {
    const path = fresh();
    const store = await FileFleetStore.open({ path, fsync: false });
    await store.setDesired({
      cluster: 'prod',
      artifact_hash: H1,
      actor: 'alice',
      reason: 'r1',
      changed_at: '2026-01-01T00:00:00.000Z',
      rollout: null,
    });
    const first = await readFile(path, 'utf8');
    expect(JSON.parse(first)).toEqual({
      format: 'plumbline.fleet-state/v1',
      revision: 1,
      desired: [
        {
          cluster: 'prod',
          artifact_hash: H1,
          version: 1,
          actor: 'alice',
          reason: 'r1',
          changed_at: '2026-01-01T00:00:00.000Z',
          rollout: null,
        },
      ],
      pins: [],
      expected: [],
      observed: [],
    });
    await store.setDesired({
      cluster: 'prod',
      artifact_hash: H2,
      actor: 'bob',
      reason: 'r2',
      changed_at: '2026-01-01T00:00:01.000Z',
      rollout: null,
    });
    expect(await readFile(`${path}.bak`, 'utf8')).toBe(first);
    expect(JSON.parse(await readFile(path, 'utf8')).desired[0].artifact_hash).toBe(H2);
    await store.close();
    const names = await readdir(root);
    expect(names.filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a corrupt file with PLB_STORE_CORRUPT and leaves it and the backup untouched', async () => {
    const path = fresh();
    const store = await FileFleetStore.open({ path });
    await store.setDesired({
      cluster: 'prod',
      artifact_hash: H1,
      actor: 'a',
      reason: 'r',
      changed_at: '2026-01-01T00:00:00.000Z',
      rollout: null,
    });
    await store.setDesired({
      cluster: 'prod',
      artifact_hash: H2,
      actor: 'a',
      reason: 'r',
      changed_at: '2026-01-01T00:00:00.000Z',
      rollout: null,
    });
    await store.close();
    const backup = await readFile(`${path}.bak`, 'utf8');
    for (const bad of [
      '{"format":"plumbline.fleet-state/v1","revision":',
      '[]',
      '{"format":"plumbline.fleet-state/v1","revision":-1,"desired":[],"pins":[],"expected":[],"observed":[]}',
      '',
    ]) {
      await writeFile(path, bad);
      const error = await FileFleetStore.open({ path }).catch((e: unknown) => e);
      expect(PlumblineError.is(error, 'PLB_STORE_CORRUPT')).toBe(true);
      expect((error as PlumblineError).message).toContain(`${path}.bak`);
      expect(await readFile(path, 'utf8')).toBe(bad);
      expect(await readFile(`${path}.bak`, 'utf8')).toBe(backup);
    }
  });

  it('refuses another major format version and files over the size limit', async () => {
    const path = fresh();
    await writeFile(path, JSON.stringify({ format: 'plumbline.fleet-state/v2', revision: 0 }));
    await expect(FileFleetStore.open({ path })).rejects.toMatchObject({
      code: 'PLB_STORE_VERSION',
    });
    await writeFile(path, ' '.repeat(2048));
    await expect(FileFleetStore.open({ path, maxFileBytes: 1024 })).rejects.toMatchObject({
      code: 'PLB_STORE_TOO_LARGE',
    });
  });

  it('fails a write that would exceed the size limit and keeps the old state', async () => {
    const path = fresh();
    const store = await FileFleetStore.open({ path, maxFileBytes: 600 });
    await store.setDesired({
      cluster: 'prod',
      artifact_hash: H1,
      actor: 'a',
      reason: 'r',
      changed_at: '2026-01-01T00:00:00.000Z',
      rollout: null,
    });
    const before = await readFile(path, 'utf8');
    await expect(
      store.setExpected({
        cluster: 'prod',
        nodes: Array.from({ length: 100 }, (_, i) => `node-${i}`),
        actor: 'a',
        changed_at: '2026-01-01T00:00:00.000Z',
      }),
    ).rejects.toMatchObject({ code: 'PLB_STORE_TOO_LARGE' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expect((await store.load()).expected).toEqual([]);
    await store.close();
  });

  it('reports an unwritable location as PLB_STORE_IO and an unreadable one on open', async () => {
    const path = join(root, 'missing-dir', 'state.json');
    const store = await FileFleetStore.open({ path });
    await expect(
      store.setDesired({
        cluster: 'prod',
        artifact_hash: H1,
        actor: 'a',
        reason: 'r',
        changed_at: '2026-01-01T00:00:00.000Z',
        rollout: null,
      }),
    ).rejects.toMatchObject({ code: 'PLB_STORE_IO' });
    await store.close();
    await expect(FileFleetStore.open({ path: root })).rejects.toMatchObject({
      code: 'PLB_STORE_IO',
    });
  });

  it('lets a restarted monitor remember desired state, inventory and every node it saw', async () => {
    const path = fresh();
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const monitor = await FleetMonitor.create({
      clock,
      store: await FileFleetStore.open({ path }),
      flapDamping: false,
    });
    await monitor.setDesired({
      cluster: 'prod',
      artifact_hash: H1,
      actor: 'alice',
      reason: 'release',
    });
    await monitor.setExpectedNodes('prod', ['gw-1', 'gw-2'], 'alice');
    monitor.connect(
      { node_id: 'gw-1', cluster: 'prod', principal: 'token:gw-1' },
      {
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'gw-1',
        cluster: 'prod',
        instance_id: 'i-1',
        artifact_hash: H2,
      },
      's1',
    );
    expect(monitor.node('gw-1')?.state).toBe('drift');
    clock.advance(500);
    await monitor.close();

    const again = await FleetMonitor.create({
      clock,
      store: await FileFleetStore.open({ path }),
      flapDamping: false,
    });
    expect(again.desired('prod')?.artifact_hash).toBe(H1);
    expect(again.node('gw-1')).toMatchObject({
      state: 'disconnected',
      reported_hash: H2,
      instance_id: 'i-1',
      last_seen: '2026-01-01T00:00:00.000Z',
    });
    expect(again.node('gw-2')?.state).toBe('never_seen');
    again.connect(
      { node_id: 'gw-1', cluster: 'prod', principal: 'token:gw-1' },
      {
        type: 'hello',
        protocol: 'plumbline.drift/v1',
        node_id: 'gw-1',
        cluster: 'prod',
        instance_id: 'i-1',
        artifact_hash: H1,
      },
      's2',
    );
    expect(again.node('gw-1')?.state).toBe('in_sync');
    expect(again.heartbeat('gw-1', 's2', { type: 'heartbeat', seq: 1, artifact_hash: H1 })).toBe(
      true,
    );
    await again.close();
  });
});

describe('FileFleetStore writes only what changed', () => {
  const observedNode = (id: string, seq: number) => ({
    node_id: id,
    cluster: 'prod',
    instance_id: 'i',
    reported_hash: H1,
    workers: null,
    provenance: null,
    loaded_at: null,
    last_load_error: null,
    last_seen: '2026-01-01T00:00:00.000Z',
    last_seq: seq,
  });

  it('serialises again only the nodes whose record changed, and the file is unchanged in format', async () => {
    const path = fresh();
    const store = await FileFleetStore.open({ path, fsync: false });
    let serialised = 0;
    // Counts how often the store turns a record into JSON.
    const counted = (id: string, seq: number) =>
      Object.defineProperty(observedNode(id, seq), 'toJSON', {
        enumerable: false,
        value(this: object) {
          serialised++;
          return { ...this };
        },
      });
    await store.saveObserved(Array.from({ length: 500 }, (_, i) => counted(`n${i}`, 1)));
    expect(serialised).toBe(500);
    serialised = 0;
    await store.saveObserved([counted('n7', 2), counted('n300', 2)]);
    expect(serialised).toBe(2);
    await store.saveObserved([counted('new', 1)]);
    expect(serialised).toBe(3);
    await store.deleteObserved('n8');
    expect(serialised).toBe(3);
    await store.setDesired({
      cluster: 'prod',
      artifact_hash: H2,
      actor: 'a',
      reason: 'r',
      changed_at: '2026-01-01T00:00:00.000Z',
      rollout: null,
    });
    expect(serialised).toBe(3);
    await store.close();
    const text = await readFile(path, 'utf8');
    const parsed = JSON.parse(text) as { observed: { node_id: string; last_seq: number }[] };
    // Byte for byte what serialising the whole state at once writes.
    expect(text).toBe(`${JSON.stringify(parsed)}\n`);
    const ids = parsed.observed.map((o) => o.node_id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toHaveLength(500);
    expect(ids).toContain('new');
    expect(ids).not.toContain('n8');
    expect(parsed.observed.find((o) => o.node_id === 'n7')?.last_seq).toBe(2);
    const reopened = await FileFleetStore.open({ path, fsync: false });
    expect((await reopened.load()).observed).toHaveLength(500);
    await reopened.close();
  });
});
