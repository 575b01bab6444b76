import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as audit from '@plumbline/core/audit';

// docs/audit.md's catalogue table: every event type, its builder and its default outcome and
// severity, read from the doc and compared with the catalogue in code.
const doc = readFileSync(new URL('../../../../docs/audit.md', import.meta.url), 'utf8');

interface Row {
  readonly type: string;
  readonly builder: string | null;
  readonly outcome: string;
  readonly severity: string;
}

function rows(): Row[] {
  const section = doc.split('## The catalogue')[1]!.split('\n## ')[0]!;
  const out: Row[] = [];
  for (const line of section.split('\n')) {
    const match = /^\|\s*`([a-z_.]+)`\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (match === null) continue;
    const builder = /^`(\w+)`$/.exec(match[2]!)?.[1] ?? null;
    const [outcome, severity] = match[3]!.split(' / ') as [string, string];
    out.push({ type: match[1]!, builder, outcome, severity: severity.split(' ')[0]! });
  }
  return out;
}

describe('docs/audit.md catalogue', () => {
  const table = rows();

  it('lists exactly the catalogue types', () => {
    expect(table.map((r) => r.type).sort()).toEqual(Object.keys(audit.auditDetailSchemas).sort());
    for (const row of table) expect(audit.isCatalogueType(row.type), row.type).toBe(true);
  });

  it('names each type’s builder, which builds that type with the documented defaults', () => {
    const builders = audit as unknown as Record<string, unknown>;
    for (const row of table) {
      if (row.builder === null) continue; // written by the logger itself
      const builder = builders[row.builder];
      expect(typeof builder, row.builder).toBe('function');
      const event = (
        builder as (input: unknown) => { type: string; outcome: string; severity: string }
      )({
        actor: { type: 'system', id: 'docs' },
        details: { decision: 'allow', to: 'in_sync' },
      });
      expect(event.type, row.builder).toBe(row.type);
      const outcome = row.outcome === 'follows `decision`' ? 'allow' : row.outcome;
      expect(`${event.outcome} / ${event.severity}`, row.type).toBe(`${outcome} / ${row.severity}`);
    }
  });
});
