#!/usr/bin/env node
// `npm run demo`: runs the story (packages/examples/demo) from the sources, so nothing needs
// building but the dashboard page it serves, and that only when its sources changed since its
// last build. Build output is shown only when the build fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dashboard = join(root, 'packages', 'dashboard');
const built = join(dashboard, 'dist', 'index.html');

/** The newest modification time of the files under `path` (a file or a folder). */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((f) =>
  join(dashboard, f),
);
const stale =
  !existsSync(built) ||
  Math.max(...sources.filter((f) => existsSync(f)).map(newest)) > statSync(built).mtimeMs;
if (stale) {
  const vite = join(
    dirname(createRequire(join(dashboard, 'package.json')).resolve('vite/package.json')),
    'bin',
    'vite.js',
  );
  const build = spawnSync(process.execPath, [vite, 'build'], { cwd: dashboard, encoding: 'utf8' });
  if (build.status !== 0) {
    process.stderr.write(build.stdout + build.stderr);
    console.error('plumbline demo: building the dashboard page failed (output above)');
    process.exit(1);
  }
}

const demo = spawnSync(
  process.execPath,
  ['--conditions=@plumbline/source', '--import', 'tsx', 'demo/demo.ts', ...process.argv.slice(2)],
  { cwd: join(root, 'packages', 'examples'), stdio: 'inherit' },
);
process.exit(demo.status ?? 1);
