import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_STATES } from '../../src/drift/monitor/state.js';

// Every list of node states in the docs is the one list of the state rule (NODE_STATES).
const read = (path: string): string =>
  readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8');

describe('node states in the docs', () => {
  it('docs/protocol.md "Fleet states" has a row per state', () => {
    const section = read('docs/protocol.md').split('## Fleet states')[1]!.split('\n## ')[0]!;
    const rows = [...section.matchAll(/^\|\s*`([a-z_]+)`\s*\|/gm)].map((m) => m[1]!);
    expect([...rows].sort()).toEqual([...NODE_STATES].sort());
  });

  it('docs/audit.md lists every state as a `to` of fleet.node_state_changed', () => {
    const row = read('docs/audit.md')
      .split('\n')
      .find((line) => line.startsWith('| `fleet.node_state_changed`'))!;
    const to = /`to` \(([^)]*)\)/.exec(row)![1]!;
    const states = [...to.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    expect([...states].sort()).toEqual([...NODE_STATES].sort());
  });
});
