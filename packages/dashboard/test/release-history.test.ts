import { describe, expect, it } from 'vitest';
import {
  STATES,
  historyBands,
  peakDriftLine,
  releaseName,
  releaseOf,
  type ClusterHistory,
  type FleetNode,
  type NodeState,
} from '../src/model.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function counts(values: Partial<Record<NodeState, number>>): Record<NodeState, number> {
  return Object.fromEntries(STATES.map((s) => [s, values[s] ?? 0])) as Record<NodeState, number>;
}

function node(id: string, reported: string | null, provenance: FleetNode['provenance']): FleetNode {
  return {
    node_id: id,
    cluster: 'prod',
    state: 'in_sync',
    since: '2026-01-01T00:00:00Z',
    reported_hash: reported,
    desired_hash: reported,
    last_seen: null,
    instance_id: null,
    provenance,
  };
}

describe('releaseName', () => {
  it('names a tag, a branch and the short commit as people do', () => {
    expect(releaseName({ ref: 'refs/tags/v1.4.0', commit: COMMIT })).toBe('v1.4.0 @ 0123456');
    expect(releaseName({ ref: 'refs/heads/main', commit: COMMIT })).toBe('main @ 0123456');
    expect(releaseName({ ref: 'release/2026-01' })).toBe('release/2026-01');
    expect(releaseName({ commit: COMMIT })).toBe('0123456');
    expect(releaseName({ source: 'https://git.example.com/x' })).toBeNull();
    expect(releaseName(null)).toBeNull();
  });

  it('names a hash from a node that runs it and says which release it is', () => {
    const nodes = [
      node('a', 'sha256:aa', null),
      node('b', 'sha256:aa', { ref: 'refs/tags/v2', commit: COMMIT }),
      node('c', 'sha256:bb', { commit: COMMIT }),
    ];
    expect(releaseOf('sha256:aa', nodes)).toBe('v2 @ 0123456');
    expect(releaseOf('sha256:cc', nodes)).toBeNull();
    expect(releaseOf(null, nodes)).toBeNull();
  });
});

describe('the history chart', () => {
  const history: ClusterHistory = {
    cluster: 'prod',
    from: '2026-01-01T00:00:00Z',
    to: '2026-01-01T01:00:00Z',
    step_ms: 1_200_000,
    samples: [
      { at: '2026-01-01T00:20:00Z', counts: counts({ never_seen: 2 }), peak_drift: 0 },
      { at: '2026-01-01T00:40:00Z', counts: counts({ in_sync: 1, drift: 1 }), peak_drift: 1 },
      { at: '2026-01-01T01:00:00Z', counts: counts({ in_sync: 2 }), peak_drift: 2 },
    ],
    drifts: [],
    changes: [],
    truncated: false,
  };

  it('stacks one band per state that had a node, bottom up, on the most nodes of any sample', () => {
    const bands = historyBands(history, 100, 50);
    expect(bands.map((b) => b.state)).toEqual(['in_sync', 'drift', 'never_seen']);
    // in_sync: 0, 1, 2 of 2 nodes over the bottom line.
    expect(bands[0]!.points).toBe('0.0,50.0 50.0,25.0 100.0,0.0 100.0,50.0 50.0,50.0 0.0,50.0');
    // drift sits on in_sync.
    expect(bands[1]!.points).toBe('0.0,50.0 50.0,0.0 100.0,0.0 100.0,0.0 50.0,25.0 0.0,50.0');
    expect(historyBands({ ...history, samples: [] }, 100, 50)).toEqual([]);
  });

  it('draws the most nodes drifting at once per step on the same scale', () => {
    expect(peakDriftLine(history, 100, 50)).toBe('0.0,50.0 50.0,25.0 100.0,0.0');
  });
});
