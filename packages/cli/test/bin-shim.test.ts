import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const cli = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('../../examples/fixtures/gateway-config/', import.meta.url));
// A copy of the package without dist/ (as in a fresh clone after `npm ci`), inside the repository
// so that its node_modules (tsx, the workspace packages) resolve as they do for the real one.
const clone = mkdtempSync(join(cli, '.bin-shim-test-'));
afterAll(() => rmSync(clone, { recursive: true, force: true }));

describe('the plumbline bin', () => {
  it('is a committed JavaScript file, so npm links it at install time before any build', () => {
    const pkg = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      files: string[];
    };
    expect(pkg.bin).toEqual({ plumbline: './bin/plumbline.js' });
    expect(pkg.files).toContain('bin');
    expect(readFileSync(join(cli, pkg.bin.plumbline!), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
  });

  it('runs the CLI from its sources when it has not been built', async () => {
    mkdirSync(join(clone, 'bin'));
    copyFileSync(join(cli, 'bin', 'plumbline.js'), join(clone, 'bin', 'plumbline.js'));
    symlinkSync(join(cli, 'src'), join(clone, 'src'));
    symlinkSync(join(cli, 'package.json'), join(clone, 'package.json'));
    const shim = join(clone, 'bin', 'plumbline.js');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [shim, ...args], { encoding: 'utf8', cwd: clone });
    const version = run(['--version']);
    expect(version.stderr).toBe('');
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const manifest = run(['manifest', fixtures]);
    expect(manifest.status).toBe(0);
    expect(manifest.stdout).toBe((await runCli(['manifest', fixtures])).stdout);
    const usage = run(['manifest']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^plumbline: PLB_USAGE: /);
  });
});
