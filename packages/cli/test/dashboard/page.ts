import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { manifestFromEntries, type Manifest } from '@plumbline/core/manifest';

/** The repository's root. */
export const ROOT = resolve(import.meta.dirname, '../../../..');
/** A manifest of the given files (path → content). */
export function manifest(files: Record<string, string>): Manifest {
  return manifestFromEntries(
    Object.entries(files).map(([path, content]) => ({
      path,
      size: content.length,
      digest: `sha256:${createHash('sha256').update(content).digest('hex')}` as const,
    })),
  );
}

/** Where the CLI serves the built page from (its build copies it there). */
export const UI = join(ROOT, 'packages/cli/dist/ui');

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = statSync(path);
    t = Math.max(t, s.isDirectory() ? newest(path) : s.mtimeMs);
  }
  return t;
}

/** Builds the page into the CLI's `dist/ui` when it is missing or older than its sources. */
export function ensurePage(): void {
  const page = join(ROOT, 'packages/dashboard');
  const built = join(UI, 'index.html');
  const sources = Math.max(newest(join(page, 'src')), statSync(join(page, 'index.html')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: page, stdio: 'ignore' });
  rmSync(UI, { recursive: true, force: true });
  cpSync(join(page, 'dist'), UI, { recursive: true });
}

/** Debian's Chromium, headless, with a fresh temporary profile. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The axe-core script (its minified build), evaluated in the page to check accessibility. */
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, so the page's strict CSP
 * stays as served) and answers its serious and critical violations, as `rule: target` lines.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (c: unknown) => Promise<unknown> } }).axe;
    const result = (await axe.run(document)) as {
      violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[];
    };
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.targets.map((t) => `${v.id}: ${t}`));
}

/** Console errors and warnings, page errors, failed requests and HTTP errors of a page. */
export function problems(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A read the page itself cancels is reported as aborted: the event stream (sign-out,
    // reconnect), and an audit or diff read superseded by a newer event before it answered.
    const error = r.failure()?.errorText;
    const path = new URL(r.url()).pathname;
    const superseded =
      path === '/v1/fleet/events' || path === '/v1/audit/recent' || path.endsWith('/diff');
    if (!(superseded && r.method() === 'GET' && error === 'net::ERR_ABORTED'))
      seen.push(`failed: ${r.url()} ${error}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) seen.push(`http ${r.status()}: ${r.url()}`);
  });
  return seen;
}

/** Signs in with a token and waits for the live stream. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /^Live$/ })
    .waitFor({ timeout: 20_000 });
}
