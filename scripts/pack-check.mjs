#!/usr/bin/env node
// `npm run pack:check [-- <package-name>...]`: packs every published workspace package (those
// without "private": true) into a temporary directory and checks the tarball exactly as a user
// would receive it: publint (strict: warnings fail) and @arethetypeswrong/cli (ESM-only profile,
// since every Plumbline package is ESM). Packages must be built first (`npm run build`, or
// `npx tsup` in the package). Exits 1 when any check fails and prints which.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const packages = rootPkg.workspaces
  .map((dir) => ({
    dir: join(root, dir),
    pkg: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')),
  }))
  .filter(({ pkg }) => !pkg.private)
  .filter(({ pkg }) => wanted.length === 0 || wanted.includes(pkg.name));

function run(command, args, cwd) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return {
    ok: result.status === 0,
    stdout: result.stdout ?? '',
    output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(),
  };
}

const scratch = mkdtempSync(join(tmpdir(), 'plumbline-pack-'));
const failures = [];
try {
  for (const { dir, pkg } of packages) {
    console.log(`\n# ${pkg.name}@${pkg.version}`);
    if (!existsSync(join(dir, 'dist'))) {
      failures.push(`${pkg.name}: not built (no dist/); run \`npx tsup\` in ${dir}`);
      console.log('  not built: skipped');
      continue;
    }
    const packed = run('npm', ['pack', '--json', '--pack-destination', scratch], dir);
    if (!packed.ok) {
      failures.push(`${pkg.name}: npm pack failed`);
      console.log(packed.output);
      continue;
    }
    const info = JSON.parse(packed.stdout)[0];
    const tarball = join(scratch, info.filename);
    console.log(
      `  packed ${info.filename}: ${info.entryCount} files, ${(info.size / 1024).toFixed(1)} KiB`,
    );
    for (const [name, command, args] of [
      ['publint', bin('publint'), ['run', tarball, '--strict']],
      [
        'attw',
        bin('attw'),
        [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-summary'],
      ],
    ]) {
      const result = run(command, args, dir);
      console.log(`  ${name}: ${result.ok ? 'ok' : 'FAILED'}`);
      if (!result.ok) {
        failures.push(`${pkg.name}: ${name}`);
        console.log(result.output.replace(/^/gm, '    '));
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`\npack:check failed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}
console.log(`\npack:check: ${packages.length} package(s) clean`);
