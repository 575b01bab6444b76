import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';
import { parseDuration, parseListen } from '../../src/control-plane/parse.js';
import { renderPrometheus } from '../../src/control-plane/prometheus.js';
import { createAdminTokenCheck } from '../../src/control-plane/admin-token.js';
import { formatFleet } from '../../src/commands/fleet.js';
import { formatAge, formatNode, nodeWhy } from '../../src/commands/fleet-format.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['5', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text, 'x')).toBe(ms));
  it.each(['', '0s', '-1s', '5 days', '25h', 'soon', '1e3s'])('refuses %j', (text) => {
    expect(() => parseDuration(text, '--heartbeat-interval')).toThrow(
      expect.objectContaining({
        code: 'PLB_USAGE',
        message: expect.stringContaining('--heartbeat-interval'),
      }),
    );
  });
  it('never throws anything but PLB_USAGE', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const ms = parseDuration(text, 'x');
          expect(ms).toBeGreaterThan(0);
        } catch (error) {
          expect(PlumblineError.is(error, 'PLB_USAGE')).toBe(true);
        }
      }),
    );
  });
});

describe('parseListen', () => {
  it('parses IPv4, names and bracketed IPv6', () => {
    expect(parseListen('127.0.0.1:0', 'x')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('localhost:8443', 'x')).toEqual({ host: 'localhost', port: 8443 });
    expect(parseListen('[::1]:9090', 'x')).toEqual({ host: '::1', port: 9090 });
  });
  it.each(['8443', ':8443', '127.0.0.1:70000', '::1:80', 'a b:1', '127.0.0.1:'])(
    'refuses %j',
    (text) => {
      expect(() => parseListen(text, '--listen')).toThrow(
        expect.objectContaining({ code: 'PLB_USAGE' }),
      );
    },
  );
});

describe('renderPrometheus', () => {
  it('renders HELP, TYPE, labels with escapes and special values', () => {
    expect(
      renderPrometheus([
        {
          name: 'm',
          help: 'a\\b\nc',
          type: 'gauge',
          samples: [{ labels: { k: 'v"\\\n' }, value: 1 }, { value: Infinity }, { value: NaN }],
        },
      ]),
    ).toBe('# HELP m a\\\\b\\nc\n# TYPE m gauge\nm{k="v\\"\\\\\\n"} 1\nm +Inf\nm NaN\n');
  });
});

describe('createAdminTokenCheck', () => {
  const check = createAdminTokenCheck('s3cret');
  it('accepts only the exact bearer token', () => {
    expect(check('Bearer s3cret')).toBe(true);
    expect(check('bearer s3cret')).toBe(true);
    expect(check('Bearer s3cre')).toBe(false);
    expect(check('Bearer s3crett')).toBe(false);
    expect(check('Basic s3cret')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(check('')).toBe(false);
  });
});

describe('formatFleet', () => {
  const doc = {
    clusters: [
      {
        cluster: 'prod',
        desired_hash: `sha256:${'a'.repeat(64)}`,
        rollout: null,
        counts: { in_sync: 1, drift: 1, pending: 0 },
      },
    ],
    nodes: [
      {
        node_id: 'gw-1',
        cluster: 'prod',
        state: 'in_sync',
        since: '2026-01-01T00:00:00Z',
        reported_hash: `sha256:${'a'.repeat(64)}`,
        desired_hash: `sha256:${'a'.repeat(64)}`,
        last_seen: '2026-01-01T00:00:01Z',
      },
      {
        node_id: 'gw-22',
        cluster: 'prod',
        state: 'drift',
        since: '2026-01-01T00:00:00Z',
        reported_hash: null,
        desired_hash: `sha256:${'a'.repeat(64)}`,
        last_seen: null,
      },
    ],
  };
  const now = Date.parse('2026-01-01T00:03:05Z');
  it('prints a summary line and an aligned table with AGE and WHY', () => {
    const lines = formatFleet(doc, false, now);
    expect(lines[0]).toBe('cluster prod: desired sha256:aaaaaaaaaaaa…  in_sync=1 drift=1');
    expect(lines[2]).toMatch(
      /^NODE\s+CLUSTER\s+STATE\s+AGE\s+REPORTED\s+DESIRED\s+LAST SEEN\s+WHY$/,
    );
    expect(lines[3]).toMatch(
      /^gw-1\s+prod\s+in_sync\s+3m\s+sha256:a{12}…\s+sha256:a{12}…\s+3m ago\s+-$/,
    );
    expect(lines[4]).toMatch(
      /^gw-22\s+prod\s+drift\s+3m\s+-\s+sha256:aaaaaaaaaaaa…\s+-\s+reports no verified artifact$/,
    );
    expect(lines[3]!.indexOf('in_sync')).toBe(lines[4]!.indexOf('drift'));
  });
  it('says why: the reported load error, the other artifact, the silence', () => {
    const node = doc.nodes[1]!;
    const b = `sha256:${'b'.repeat(64)}`;
    expect(
      nodeWhy(
        {
          ...node,
          state: 'rejected',
          last_load_error: {
            artifact_hash: b,
            code: 'PLB_PAYLOAD_DIGEST_MISMATCH',
            message: 'payload digest\ndiffers\u001b[2J',
            at: '2026-01-01T00:00:00Z',
          },
        },
        now,
      ),
    ).toBe(
      'load of sha256:bbbbbbbbbbbb… failed: PLB_PAYLOAD_DIGEST_MISMATCH: payload digest differs [2J',
    ); // control characters never reach the terminal
    expect(nodeWhy({ ...node, reported_hash: b }, now)).toBe(
      'runs sha256:bbbbbbbbbbbb…, not the desired sha256:aaaaaaaaaaaa…',
    );
    expect(nodeWhy({ ...node, state: 'stale', last_seen: '2026-01-01T00:02:00Z' }, now)).toBe(
      'heartbeats missed, last seen 65s ago',
    );
    expect(formatAge('2026-01-01T00:00:00Z', now + 3 * 86_400_000)).toBe('3d');
    expect(formatAge('2025-12-31T22:00:00Z', now)).toBe('2h');
    const detail = formatNode({ node_id: 'gw-22', state: 'never_seen', since: node.since }, now);
    expect(detail).toEqual([
      'node_id: gw-22',
      'state: never_seen',
      'age: 3m',
      'why: expected, never connected',
      'since: 2026-01-01T00:00:00Z',
    ]);
  });
  it('colours states on a terminal', () => {
    const lines = formatFleet(doc, true);
    expect(lines[4]).toContain('\u001b[31mdrift');
    expect(lines[3]).toContain('\u001b[32min_sync');
  });
});
