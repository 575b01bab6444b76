import fc from 'fast-check';
import { NODE_STATES } from '@plumbline/core/drift';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_VIEW,
  SseParser,
  STATES,
  TIMELINE_LIMIT,
  applyEvent,
  applyLastSeen,
  auditTarget,
  clockOffset,
  diffRows,
  formatDuration,
  formatPlace,
  fromSnapshot,
  nodeWhy,
  parsePlace,
  rolloutProgress,
  shortHash,
  sourceLink,
  timelineRows,
  visibleNodes,
  windowOf,
  type Cluster,
  type FleetEvent,
  type FleetNode,
  type NodeState,
  type SseMessage,
} from '../src/model.js';

const H1 = `sha256:${'a'.repeat(64)}`;
const H2 = `sha256:${'b'.repeat(64)}`;

function node(id: string, state: NodeState, extra: Partial<FleetNode> = {}): FleetNode {
  return {
    node_id: id,
    cluster: 'eu',
    state,
    since: '2026-01-01T00:00:00.000Z',
    reported_hash: H1,
    desired_hash: H1,
    last_seen: '2026-01-01T00:00:00.000Z',
    instance_id: 'i-1',
    provenance: null,
    ...extra,
  };
}

function counts(partial: Partial<Record<NodeState, number>>): Record<NodeState, number> {
  return Object.fromEntries(STATES.map((s) => [s, partial[s] ?? 0])) as Record<NodeState, number>;
}

const snapshot = {
  clusters: [{ cluster: 'eu', desired_hash: H1, rollout: null, counts: counts({ in_sync: 2 }) }],
  nodes: [node('a', 'in_sync'), node('b', 'in_sync')],
  recent: [
    {
      type: 'node.state_changed',
      id: 'e1',
      at: '2026-01-01T00:00:00.000Z',
      node_id: 'a',
      cluster: 'eu',
      state: 'in_sync' as const,
      from: 'unknown' as const,
    },
  ],
};

describe('states', () => {
  it('lists the same fleet states, in the same order, as core', () => {
    expect(STATES).toEqual(NODE_STATES);
  });
});

describe('reducer', () => {
  it('builds the view from a snapshot, with timelines from the recent events', () => {
    const view = fromSnapshot(snapshot);
    expect([...view.nodes.keys()]).toEqual(['a', 'b']);
    expect(view.clusters.get('eu')?.counts.in_sync).toBe(2);
    expect(view.timelines.get('a')?.map((e) => e.id)).toEqual(['e1']);
  });

  it('applies a drift: the node, its since, provenance, timeline and cluster counts', () => {
    let view = fromSnapshot(snapshot);
    const base = {
      at: '2026-01-01T00:05:00.000Z',
      node_id: 'a',
      cluster: 'eu',
      instance_id: 'i-2',
    };
    view = applyEvent(view, {
      ...base,
      type: 'node.state_changed',
      id: 'e2',
      state: 'drift',
      from: 'in_sync',
      reported_hash: H2,
      desired_hash: H1,
    });
    view = applyEvent(view, {
      ...base,
      type: 'drift.detected',
      id: 'e3',
      state: 'drift',
      from: 'in_sync',
      reported_hash: H2,
      desired_hash: H1,
      provenance: { commit: 'abc1234', source: 'https://git.example/o/r' },
    });
    const a = view.nodes.get('a')!;
    expect(a).toMatchObject({
      state: 'drift',
      since: base.at,
      reported_hash: H2,
      instance_id: 'i-2',
    });
    expect(a.provenance?.commit).toBe('abc1234');
    expect(view.clusters.get('eu')?.counts).toEqual(counts({ in_sync: 1, drift: 1 }));
    expect(view.timelines.get('a')?.map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    expect(view.recent.map((e) => e.id)).toEqual(['e3', 'e2', 'e1']);
    // Replaying an event (a resumed stream) does not duplicate the timeline.
    const again = applyEvent(view, view.recent[0]!);
    expect(again.timelines.get('a')).toHaveLength(3);
  });

  it('adds unknown nodes and clusters, and keeps since when the state does not change', () => {
    let view = applyEvent(EMPTY_VIEW, {
      type: 'node.state_changed',
      id: 'x1',
      at: '2026-01-01T00:00:00.000Z',
      node_id: 'n',
      cluster: 'us',
      state: 'unknown',
      from: 'never_seen',
    });
    view = applyEvent(view, {
      type: 'node.flapping',
      id: 'x2',
      at: '2026-01-01T00:09:00.000Z',
      node_id: 'n',
      cluster: 'us',
      state: 'unknown',
    });
    expect(view.nodes.get('n')?.since).toBe('2026-01-01T00:00:00.000Z');
    expect(view.clusters.get('us')?.counts.unknown).toBe(1);
  });

  it('applies desired state changes and rollout outcomes to the cluster', () => {
    const rollout = {
      previous_hash: H1,
      started_at: '2026-01-01T00:00:00.000Z',
      deadline: '2026-01-01T00:10:00.000Z',
    };
    let view = applyEvent(fromSnapshot(snapshot), {
      type: 'desired_state.changed',
      id: 'd1',
      at: rollout.started_at,
      cluster: 'eu',
      artifact_hash: H2,
      rollout,
    });
    expect(view.clusters.get('eu')).toMatchObject({
      desired_hash: H2,
      rollout: { status: 'in_progress' },
    });
    view = applyEvent(view, {
      type: 'rollout.completed',
      id: 'd2',
      at: rollout.deadline,
      cluster: 'eu',
      rollout,
    });
    expect(view.clusters.get('eu')?.rollout?.status).toBe('completed');
    view = applyEvent(view, {
      type: 'rollout.deadline_exceeded',
      id: 'd3',
      at: rollout.deadline,
      cluster: 'eu',
      rollout,
    });
    expect(view.clusters.get('eu')?.rollout?.status).toBe('deadline_exceeded');
    view = applyEvent(view, {
      type: 'desired_state.changed',
      id: 'd4',
      at: rollout.deadline,
      cluster: 'new',
      artifact_hash: H1,
      rollout: null,
    });
    expect(view.clusters.get('new')).toMatchObject({ desired_hash: H1, rollout: null });
    const other = applyEvent(view, { type: 'something.else', id: 'd5', at: rollout.deadline });
    expect(other.clusters).toBe(view.clusters);
  });

  it('keeps counts equal to the nodes and timelines bounded, whatever the event sequence', () => {
    const ev = fc.record({
      node_id: fc.constantFrom('a', 'b', 'c', 'd'),
      cluster: fc.constantFrom('eu', 'us'),
      state: fc.constantFrom(...STATES),
    });
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 300 }), (events) => {
        let view = fromSnapshot(snapshot);
        events.forEach((e, i) => {
          view = applyEvent(view, {
            ...e,
            type: 'node.state_changed',
            id: `p${i}`,
            at: new Date(i * 1000).toISOString(),
          });
        });
        for (const cluster of view.clusters.values()) {
          const expected = counts({});
          for (const n of view.nodes.values())
            if (n.cluster === cluster.cluster) expected[n.state]++;
          expect(cluster.counts).toEqual(expected);
        }
        for (const t of view.timelines.values())
          expect(t.length).toBeLessThanOrEqual(TIMELINE_LIMIT);
        expect(view.recent.length).toBeLessThanOrEqual(TIMELINE_LIMIT);
      }),
      { numRuns: 100 },
    );
  });
});

describe('node table', () => {
  const nodes = [
    node('n3', 'in_sync', { since: '2026-01-01T00:03:00.000Z', last_seen: null }),
    node('n1', 'drift', { since: '2026-01-01T00:01:00.000Z', cluster: 'us' }),
    node('n2', 'stale', { since: '2026-01-01T00:02:00.000Z', provenance: { commit: 'DEADbeef' } }),
    node('n0', 'drift', { since: '2026-01-01T00:04:00.000Z', reported_hash: H2 }),
  ];
  const ids = (rows: FleetNode[]): string[] => rows.map((r) => r.node_id);

  it('sorts by each column, both ways, ties broken by node id', () => {
    expect(ids(visibleNodes(nodes, {}, { key: 'node_id', descending: false }))).toEqual([
      'n0',
      'n1',
      'n2',
      'n3',
    ]);
    expect(ids(visibleNodes(nodes, {}, { key: 'node_id', descending: true }))).toEqual([
      'n3',
      'n2',
      'n1',
      'n0',
    ]);
    expect(ids(visibleNodes(nodes, {}, { key: 'state', descending: false }))).toEqual([
      'n0',
      'n1',
      'n2',
      'n3',
    ]);
    expect(ids(visibleNodes(nodes, {}, { key: 'since', descending: true }))).toEqual([
      'n0',
      'n3',
      'n2',
      'n1',
    ]);
    expect(ids(visibleNodes(nodes, {}, { key: 'cluster', descending: false }))).toEqual([
      'n0',
      'n2',
      'n3',
      'n1',
    ]);
    expect(ids(visibleNodes(nodes, {}, { key: 'last_seen', descending: false }))[0]).toBe('n3');
  });

  it('filters by cluster, state and text (id, cluster, hash, commit)', () => {
    const sort = { key: 'node_id', descending: false } as const;
    expect(ids(visibleNodes(nodes, { cluster: 'us' }, sort))).toEqual(['n1']);
    expect(ids(visibleNodes(nodes, { state: 'drift' }, sort))).toEqual(['n0', 'n1']);
    expect(ids(visibleNodes(nodes, { text: ' N2 ' }, sort))).toEqual(['n2']);
    expect(ids(visibleNodes(nodes, { text: 'bbbb' }, sort))).toEqual(['n0']);
    expect(ids(visibleNodes(nodes, { text: 'deadbeef' }, sort))).toEqual(['n2']);
    expect(ids(visibleNodes(nodes, { text: 'US' }, sort))).toEqual(['n1']);
    expect(ids(visibleNodes(nodes, { state: 'drift', cluster: 'eu', text: 'n' }, sort))).toEqual([
      'n0',
    ]);
  });

  it('windows 1,000 rows to what is visible plus overscan', () => {
    expect(windowOf({ total: 1000, rowHeight: 32, height: 640, scrollTop: 3200 })).toEqual({
      start: 90,
      end: 130,
    });
    expect(windowOf({ total: 1000, rowHeight: 32, height: 640, scrollTop: 0 })).toEqual({
      start: 0,
      end: 30,
    });
    expect(windowOf({ total: 5, rowHeight: 32, height: 640, scrollTop: 99999 })).toEqual({
      start: 5,
      end: 5,
    });
    expect(windowOf({ total: 0, rowHeight: 32, height: 640, scrollTop: -5 })).toEqual({
      start: 0,
      end: 0,
    });
  });
});

describe('formatting', () => {
  it('shortens hashes, formats durations and rollout progress', () => {
    expect(shortHash(H1)).toBe('sha256:aaaaaaaaaaaa');
    expect(shortHash(null)).toBe('—');
    expect(shortHash('md5:xyz')).toBe('md5:xyz');
    expect(
      [0, 45_000, 725_000, 3_725_000, 2 * 86_400_000 + 4 * 3_600_000].map(formatDuration),
    ).toEqual(['0s', '45s', '12m 5s', '1h 2m', '2d 4h']);
    const cluster: Cluster = {
      cluster: 'eu',
      desired_hash: H2,
      rollout: {
        previous_hash: H1,
        started_at: '2026-01-01T00:00:00Z',
        deadline: '2026-01-01T00:10:00Z',
      },
      counts: counts({ in_sync: 3, pending: 1, never_seen: 5 }),
    };
    const t = Date.parse('2026-01-01T00:05:50Z');
    expect(rolloutProgress(cluster, t)).toEqual({
      done: 3,
      total: 4,
      label: 'in 4m 10s',
      overdue: false,
    });
    expect(rolloutProgress(cluster, t + 600_000)?.label).toBe('overdue by 5m 50s');
    expect(
      rolloutProgress({ ...cluster, rollout: { ...cluster.rollout!, status: 'completed' } }, t)
        ?.label,
    ).toBe('completed');
    expect(
      rolloutProgress(
        { ...cluster, rollout: { ...cluster.rollout!, status: 'deadline_exceeded' } },
        t,
      )?.overdue,
    ).toBe(true);
    expect(rolloutProgress({ ...cluster, rollout: null }, t)).toBeNull();
  });

  it('links only http(s) sources, without credentials, with the commit', () => {
    expect(sourceLink({ source: 'https://github.com/o/r.git', commit: 'abc1234' })).toBe(
      'https://github.com/o/r/commit/abc1234',
    );
    expect(sourceLink({ source: 'git+https://user:pw@git.example/o/r' })).toBe(
      'https://git.example/o/r',
    );
    expect(sourceLink({ source: 'javascript:alert(1)', commit: 'abc1234' })).toBeNull();
    expect(sourceLink({ source: 'not a url' })).toBeNull();
    expect(sourceLink({ commit: 'abc1234' })).toBeNull();
    expect(sourceLink(null)).toBeNull();
  });
});

describe('SseParser', () => {
  const text =
    'retry: 1500\n: comment\n\nid: 1\nevent: snapshot\ndata: {"a":1}\n\ndata: x\ndata: y\r\n\r\nid: 2\r\nevent: drift.detected\rdata: {}\r\r\n';

  it('parses fields, comments, multi-line data and every line ending', () => {
    const out: SseMessage[] = [];
    const parser = new SseParser((m) => out.push(m));
    parser.push(text);
    expect(out).toEqual([
      { event: 'snapshot', data: '{"a":1}', id: '1' },
      { event: 'message', data: 'x\ny', id: '1' },
      { event: 'drift.detected', data: '{}', id: '2' },
    ]);
    expect(parser.retry).toBe(1500);
    expect(parser.lastEventId).toBe('2');
  });

  it('gives the same events however the text is split', () => {
    const whole: SseMessage[] = [];
    new SseParser((m) => whole.push(m)).push(text);
    fc.assert(
      fc.property(fc.array(fc.nat(text.length), { maxLength: 10 }), (cuts) => {
        const out: SseMessage[] = [];
        const parser = new SseParser((m) => out.push(m));
        const points = [0, ...[...cuts].sort((a, b) => a - b), text.length];
        for (let i = 1; i < points.length; i++) parser.push(text.slice(points[i - 1], points[i]));
        expect(out).toEqual(whole);
      }),
    );
  });

  it('ignores an unterminated event and refuses an oversized line', () => {
    const out: SseMessage[] = [];
    const parser = new SseParser((m) => out.push(m), { maxLineLength: 16 });
    parser.push('data: partial');
    expect(out).toEqual([]);
    expect(() => parser.push('x'.repeat(32))).toThrow('event stream line too long');
  });
});

describe('file diff and audit rows', () => {
  const D = (c: string) => `sha256:${c.repeat(64)}`;
  it('lists changed, extra and missing files sorted by path', () => {
    const rows = diffRows({
      node_id: 'gw-1',
      desired_hash: H1,
      reported_hash: H2,
      added: [{ path: 'b/extra.yaml', digest: D('1'), size: 1 }],
      removed: [{ path: 'a/gone.yaml', digest: D('2'), size: 1 }],
      changed: [
        {
          path: 'c.yaml',
          desired: { digest: D('3'), size: 1 },
          reported: { digest: D('4'), size: 2 },
        },
      ],
      unchanged: 7,
      truncated: false,
    });
    expect(rows).toEqual([
      { path: 'a/gone.yaml', kind: 'missing', desired: D('2'), reported: null },
      { path: 'b/extra.yaml', kind: 'extra', desired: null, reported: D('1') },
      { path: 'c.yaml', kind: 'changed', desired: D('3'), reported: D('4') },
    ]);
  });

  it('says what an audit event was about', () => {
    const base = {
      id: 'e',
      time: '2026-01-01T00:00:00Z',
      type: 'drift.detected',
      outcome: 'success',
      severity: 'medium',
      actor: { type: 'system', id: 'm' },
    };
    expect(auditTarget({ ...base, subject: { type: 'node', id: 'gw-1' } })).toBe('node gw-1');
    expect(
      auditTarget({ ...base, details: { node_id: 'gw-1', cluster: 'eu', reported_hash: H1 } }),
    ).toBe(`gw-1 · eu · ${shortHash(H1)}`);
    expect(auditTarget({ ...base, details: { cluster: 'eu', artifact_hash: H2 } })).toBe(
      `eu · ${shortHash(H2)}`,
    );
    expect(auditTarget({ ...base, details: 'text' })).toBe('—');
    expect(auditTarget(base)).toBe('—');
  });
});

describe('last seen frames', () => {
  it("sets each listed node's last_seen to the frame time minus its age, ignoring unknown nodes", () => {
    const view = fromSnapshot({
      clusters: [],
      nodes: [node('gw-1', 'in_sync'), node('gw-2', 'in_sync')],
      recent: [],
    });
    const next = applyLastSeen(view, {
      at: '2026-01-01T00:01:00.000Z',
      ages: { 'gw-1': 1500, 'gw-9': 10 },
    });
    expect(next.nodes.get('gw-1')!.last_seen).toBe('2026-01-01T00:00:58.500Z');
    expect(next.nodes.get('gw-2')).toBe(view.nodes.get('gw-2'));
    expect(next.nodes.has('gw-9')).toBe(false);
    expect(view.nodes.get('gw-1')!.last_seen).not.toBe('2026-01-01T00:00:58.500Z');
    expect(applyLastSeen(view, { at: '2026-01-01T00:01:00.000Z', ages: {} })).toBe(view);
    expect(applyLastSeen(view, { at: 'garbage', ages: { 'gw-1': 1 } })).toBe(view);
  });

  it('measures the control plane clock against the page clock', () => {
    expect(clockOffset('2026-01-01T00:00:10Z', Date.parse('2026-01-01T00:00:07Z'))).toBe(3000);
    expect(clockOffset('2026-01-01T00:00:10Z', Date.parse('2026-01-01T00:00:12Z'))).toBe(-2000);
    expect(clockOffset('nope', 5)).toBe(0);
  });
});

describe('timelineRows', () => {
  const ev = (id: string, type: string, state: NodeState): FleetEvent => ({
    id,
    type,
    at: `2026-01-01T00:00:0${id}Z`,
    node_id: 'gw-1',
    cluster: 'prod',
    state,
  });
  it('folds a state change into the event announcing it, newest first', () => {
    const rows = timelineRows([
      ev('1', 'node.state_changed', 'in_sync'),
      ev('2', 'node.state_changed', 'drift'),
      ev('3', 'drift.detected', 'drift'),
      ev('4', 'node.state_changed', 'in_sync'),
      ev('5', 'drift.resolved', 'in_sync'),
      ev('6', 'node.state_changed', 'pending'),
    ]);
    expect(rows.map((r) => r.id)).toEqual(['6', '5', '3', '1']);
  });
});

describe('places (deep links)', () => {
  it('reads and writes a node, a cluster, a state and a search, ignoring unknown states', () => {
    expect(parsePlace('#node=gw-2&cluster=prod&state=drift&q=abc')).toEqual({
      node: 'gw-2',
      filter: { cluster: 'prod', state: 'drift', text: 'abc' },
    });
    expect(parsePlace('#state=bogus&other=1')).toEqual({ filter: {} });
    expect(parsePlace('')).toEqual({ filter: {} });
    expect(formatPlace({ filter: {} })).toBe('');
    expect(formatPlace({ node: 'a b&c', filter: { cluster: 'eu/1' } })).toBe(
      '#node=a+b%26c&cluster=eu%2F1',
    );
  });

  it('round-trips every place', () => {
    const text = fc.string({ minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(
        fc.option(text, { nil: undefined }),
        fc.option(text, { nil: undefined }),
        fc.option(fc.constantFrom(...STATES), { nil: undefined }),
        fc.option(text, { nil: undefined }),
        (node, cluster, state, q) => {
          const place = {
            ...(node === undefined ? {} : { node }),
            filter: {
              ...(cluster === undefined ? {} : { cluster }),
              ...(state === undefined ? {} : { state }),
              ...(q === undefined ? {} : { text: q }),
            },
          };
          expect(parsePlace(formatPlace(place))).toEqual(place);
        },
      ),
    );
  });
});

describe('nodeWhy', () => {
  const error = {
    artifact_hash: H2 as `sha256:${string}`,
    code: 'PLB_SEAL_INVALID',
    message: 'seal does not verify',
    at: '2026-01-01T00:00:00Z',
  };
  it('says why a node is not in sync, and nothing for one in sync', () => {
    expect(nodeWhy(node('a', 'in_sync', { last_load_error: error }))).toBeNull();
    expect(nodeWhy(node('a', 'rejected', { last_load_error: error }))).toBe(
      'load failed: PLB_SEAL_INVALID: seal does not verify',
    );
    expect(nodeWhy(node('a', 'drift', { reported_hash: H2, desired_hash: H1 }))).toBe(
      `runs ${shortHash(H2)}, should run ${shortHash(H1)}`,
    );
    expect(nodeWhy(node('a', 'reload_pending'))).toBe('reload pending');
    expect(nodeWhy(node('a', 'unknown'))).toBeNull();
  });
  it('keeps the load error a node.rejected event brought', () => {
    let view = fromSnapshot({ clusters: [], nodes: [node('gw-1', 'in_sync')], recent: [] });
    view = applyEvent(view, {
      type: 'node.rejected',
      id: 'e1',
      at: '2026-01-01T00:00:01Z',
      node_id: 'gw-1',
      cluster: 'prod',
      state: 'rejected',
      reported_hash: H1,
      desired_hash: H2,
      last_load_error: error,
    });
    expect(nodeWhy(view.nodes.get('gw-1')!)).toContain('PLB_SEAL_INVALID');
  });
});
