/**
 * docs/protocol.md "Fleet states" is what an independent implementation reads: its table names
 * every state core can put a node in, and its precedence sentence follows the node-state rule.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_STATES } from '@plumbline/core/drift';

const PROTOCOL = fileURLToPath(new URL('../../../../docs/protocol.md', import.meta.url));

async function section(): Promise<string> {
  const text = await readFile(PROTOCOL, 'utf8');
  const start = text.indexOf('## Fleet states');
  expect(start).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

describe('docs/protocol.md fleet states', () => {
  it('lists every state of NODE_STATES in its table, and no other', async () => {
    const rows = [...(await section()).matchAll(/^\| `([a-z_]+)` +\|/gm)].map((m) => m[1]);
    expect([...rows].sort()).toEqual([...NODE_STATES].sort());
  });

  it('places awaiting_report in the precedence after stale, before the judged states', async () => {
    const precedence = /Precedence: ([^.]*)\./s.exec(await section())?.[1] ?? '';
    const at = (state: string) => precedence.indexOf(`\`${state}\``);
    expect(at('awaiting_report')).toBeGreaterThan(at('stale'));
    expect(at('awaiting_report')).toBeLessThan(at('unknown'));
  });
});
