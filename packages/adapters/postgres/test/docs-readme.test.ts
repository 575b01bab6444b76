import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlumblineError } from '@plumbline/core';
import { describe, expect, it } from 'vitest';
import { newCounters, resolveSettings, type StoreSettings } from '../src/options.js';
import { PostgresFleetStore } from '../src/store.js';
import { dropSchema, freshSchemaName, PG_URL } from './helpers.js';

// The README's options table, stats list and error list are promises: each is read here and
// compared with what the store does.
const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', 'README.md'), 'utf8');
const errorsDoc = readFileSync(join(here, '..', '..', '..', '..', 'docs', 'errors.md'), 'utf8');

/** The rows of the "Options (`PostgresFleetStore.open`)" table: option → default column. */
function documentedDefaults(): Map<string, string> {
  const section = readme.split('## Options (`PostgresFleetStore.open`)')[1]!.split('\n## ')[0]!;
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const match = /^\|\s*`(\w+)`\s*\|\s*(.*?)\s*\|/.exec(line);
    if (match !== null) rows.set(match[1]!, match[2]!);
  }
  return rows;
}

/** "1,000" → 1000, "`plumbline`" → "plumbline", "`true`" → true. */
function parseDefault(text: string): number | string | boolean {
  if (/^[\d,]+$/.test(text)) return Number(text.replaceAll(',', ''));
  const code = /^`([^`]*)`$/.exec(text);
  if (code === null) return text;
  if (code[1] === 'true' || code[1] === 'false') return code[1] === 'true';
  return code[1]!;
}

/** Where each documented option lands in the checked settings. */
const SETTING: Record<string, (s: StoreSettings) => unknown> = {
  schema: (s) => s.schema,
  poolSize: (s) => s.poolSize,
  maxBatchRows: (s) => s.maxBatchRows,
  maxBufferedNodes: (s) => s.maxBuffered,
  reconnectIntervalMs: (s) => s.reconnectMs,
  pollIntervalMs: (s) => s.pollMs,
  seenIntervalMs: (s) => s.seenMs,
  replicaHeartbeatMs: (s) => s.replicaHeartbeatMs,
  replicaTimeoutMs: (s) => s.replicaTimeoutMs,
  sweepIntervalMs: (s) => s.sweepMs,
  sweep: (s) => s.sweep,
  applicationName: (s) => s.client.application_name,
  statementTimeoutMs: (s) => s.client.statement_timeout,
};

describe('the postgres README', () => {
  it('quotes the defaults the store uses', () => {
    const rows = documentedDefaults();
    expect([...rows.keys()].sort()).toEqual(
      [...Object.keys(SETTING), 'connectionString', 'migrate', 'replicaId'].sort(),
    );
    const settings = resolveSettings({});
    for (const [option, read] of Object.entries(SETTING)) {
      expect(read(settings), option).toEqual(parseDefault(rows.get(option)!));
    }
    expect(settings.client.connectionTimeoutMillis).toBe(settings.client.statement_timeout);
    expect(settings.client.connectionString).toBeUndefined(); // PG* environment variables
    expect(settings.replicaId).toMatch(/^[0-9a-f-]{36}$/); // random UUID
    expect(resolveSettings({}).replicaId).not.toBe(settings.replicaId);
  });

  it('refuses a limit that is not a positive integer with PLB_PG_OPTIONS', () => {
    for (const option of Object.keys(SETTING)) {
      if (['schema', 'sweep', 'applicationName'].includes(option)) continue;
      for (const value of [0, -1, 1.5, Number.NaN]) {
        let error: unknown;
        try {
          resolveSettings({ [option]: value });
        } catch (e) {
          error = e;
        }
        expect(error, `${option}=${value}`).toBeInstanceOf(PlumblineError);
        expect((error as PlumblineError).code).toBe('PLB_PG_OPTIONS');
      }
    }
  });

  it('lists exactly the counters stats() returns, from a real store', async () => {
    const listed = /`store\.stats\(\)` returns ([^.]*)\./s.exec(readme)![1]!;
    const names = [...listed.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    const schema = freshSchemaName();
    const store = await PostgresFleetStore.open({ connectionString: PG_URL, schema, sweep: false });
    try {
      expect(Object.keys(store.stats()).sort()).toEqual([...names].sort());
      expect(Object.keys(newCounters()).every((k) => names.includes(k))).toBe(true);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it('the control-plane guide quotes the same defaults (the CLI opens the store with them)', () => {
    const guide = readFileSync(
      join(here, '..', '..', '..', '..', 'docs', 'guides', 'control-plane-and-agent.md'),
      'utf8',
    ).replace(/\s+/g, ' ');
    const s = resolveSettings({});
    const seconds = (ms: number): string => `${ms / 1000} s`;
    expect(guide).toContain(
      `cut off from PostgreSQL for longer than ${seconds(s.replicaTimeoutMs)}`,
    );
    expect(guide).toContain(`sweeps every ${seconds(s.sweepMs)}`);
    expect(guide).toContain(`a replica silent for ${seconds(s.replicaTimeoutMs)}`);
    expect(guide).toContain(`reconnect within ${seconds(s.replicaTimeoutMs)}`);
    expect(guide).toContain(`up to ${s.maxBuffered.toLocaleString('en-US')} nodes`);
    expect(guide).toContain(`for every ${s.maxBatchRows.toLocaleString('en-US')} of them`);
  });

  it('names only error codes that docs/errors.md documents', () => {
    const section = readme.split('## Errors')[1]!.split('\n## ')[0]!;
    const codes = [...section.matchAll(/`(PLB_[A-Z_]+)`/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThanOrEqual(6);
    for (const code of codes) expect(errorsDoc, code).toContain(`| \`${code}\``);
  });
});
