import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const examples = join(here, '..');
const out = mkdtempSync(join(tmpdir(), 'plumbline-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run demo', () => {
  it('tells the whole story, exits 0 on its own and leaves its outputs', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@plumbline/source', '--import', 'tsx', 'demo/demo.ts'],
      {
        cwd: examples,
        env: { ...process.env, PLUMBLINE_DEMO_OUT: out, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // The demo must exit by itself: a listener or timer left open would keep it alive.
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/unsigned +→ refused: PLB_LOAD_REJECTED/);
    expect(stdout).toMatch(/tampered +→ refused: PLB_LOAD_REJECTED/);
    expect(stdout).toMatch(/gw-1 +in_sync/);
    expect(stdout).toMatch(/gw-3 +drift/);
    expect(stdout).toMatch(/gw-1 +pending/);
    expect(stdout).toContain(
      'webhook: ConfigurationDrift (drift.detected) for gw-3, Plumbline-Signature verified',
    );
    expect(stdout).toContain('all signatures verified: true');
    expect(stdout).toMatch(/Done in/);

    for (const file of [
      'v1.plb',
      'v2.plb',
      'v1.cdx.json',
      'v1.labels.json',
      'keys/release.pub.pem',
    ]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const labels = JSON.parse(readFileSync(join(out, 'v1.labels.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(labels['org.opencontainers.image.revision']).toBe(
      '4f1c2a9e7b3d5c8e1f0a2b4c6d8e0f1a3b5c7d9e',
    );
    const audit = readFileSync(join(out, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.some((e) => JSON.stringify(e).includes('drift.detected'))).toBe(true);
  }, 60_000);
});
