import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** The repository's root. */
export const ROOT = resolve(import.meta.dirname, '../../../..');
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
