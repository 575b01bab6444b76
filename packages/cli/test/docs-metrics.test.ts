import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type RunningControlPlane } from '@plumbline/cli';

// The control-plane guide's "Metrics" section lists every metric `/metrics` serves: the list is
// read from the guide and compared with the metric families a real control plane exposes.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const guide = readFileSync(join(root, 'docs', 'guides', 'control-plane-and-agent.md'), 'utf8');

/** The metrics the section lists; `postgres` picks the ones listed for `--store postgres://…`. */
function documented(postgres = false): Map<string, string[]> {
  const [always, withStore] = guide
    .split('## 5. Metrics')[1]!
    .split('\n## ')[0]!
    .split('With `--store postgres://…` also') as [string, string];
  const section = postgres ? withStore : always;
  const metrics = new Map<string, string[]>();
  for (const match of section.matchAll(/`((?:plumbline|process)_[a-z_]+)(?:\{([a-z_,]+)\})?`/g)) {
    metrics.set(match[1]!, match[2]?.split(',') ?? []);
  }
  return metrics;
}

describe('the control-plane guide: metrics', () => {
  let dir: string;
  let cp: RunningControlPlane;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumbline-docs-metrics-'));
    await writeFile(join(dir, 'tokens.json'), '{}');
    cp = await startControlPlane({
      nodeTokens: join(dir, 'tokens.json'),
      adminToken: 'admin-secret',
      store: join(dir, 'state.json'),
      webhook: { url: 'http://127.0.0.1:9/alerts', secret: 'webhook-secret' },
      audit: { path: join(dir, 'audit.jsonl') },
      logOutput: { write: () => true },
    });
  });
  afterAll(async () => {
    await cp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists exactly the metric families /metrics serves, with their labels', async () => {
    // An upgrade without credentials gives the labelled WebSocket counters a sample.
    const upgrade = await fetch(cp.wsUrl.replace(/^ws/, 'http'), {
      headers: { connection: 'Upgrade', upgrade: 'websocket' },
    }).catch(() => undefined);
    expect(upgrade === undefined || upgrade.status >= 400).toBe(true);
    const text = await (
      await fetch(`${cp.adminUrl}/metrics`, { headers: { authorization: 'Bearer admin-secret' } })
    ).text();
    const served = new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!));
    const listed = documented();
    expect([...listed.keys()].sort()).toEqual([...served].sort());
    // The --store postgres:// ones are not served by a control plane on a state file.
    const postgresOnly = [...documented(true).keys()];
    expect(postgresOnly.length).toBeGreaterThan(0);
    for (const name of postgresOnly) expect(served.has(name), name).toBe(false);
    // Every label a sample carries is one the guide names for that metric.
    for (const match of text.matchAll(/^([a-z_]+)\{([^}]*)\} /gm)) {
      const labels = [...match[2]!.matchAll(/([a-z_]+)="/g)].map((m) => m[1]!);
      for (const label of labels)
        expect(listed.get(match[1]!), `${match[1]}{${label}}`).toContain(label);
    }
  });
});
