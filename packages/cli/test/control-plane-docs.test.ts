import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// The control plane's flags as the docs list them: every flag the CLI README's `control-plane`
// line names is an option of the command, and every token file the command takes is named where
// the tokens are explained (the README and the guide's "Tokens" section).
const root = fileURLToPath(new URL('../../..', import.meta.url));
const flagsIn = (text: string): string[] => [...new Set(text.match(/--[a-z][a-z-]+/g) ?? [])];

async function controlPlaneOptions(): Promise<string[]> {
  const help = await runCli(['control-plane', '--help']);
  expect(help.code).toBe(0);
  return flagsIn(help.stdout.slice(0, help.stdout.indexOf('\nWith port 0')));
}

describe('the documented control-plane flags', () => {
  it('the CLI README names only options the command has', async () => {
    const readme = readFileSync(join(root, 'packages/cli/README.md'), 'utf8');
    const line = readme.split('\n- ').find((b) => b.startsWith('`control-plane`'));
    expect(line).toBeDefined();
    const options = await controlPlaneOptions();
    expect(options).toContain('--read-token-file');
    expect(flagsIn(line!).filter((f) => !options.includes(f))).toEqual([]);
    expect(flagsIn(line!)).toContain('--read-token-file');
  });

  it('every token file of the command is named in the README and the guide', async () => {
    const tokenFiles = (await controlPlaneOptions()).filter((f) => /-token-file$/.test(f));
    expect(tokenFiles).toEqual(['--admin-token-file', '--read-token-file']);
    const readme = readFileSync(join(root, 'packages/cli/README.md'), 'utf8');
    const guide = readFileSync(join(root, 'docs/guides/control-plane-and-agent.md'), 'utf8');
    const tokens = guide.slice(guide.indexOf('## 1. Tokens'), guide.indexOf('## 2. Control plane'));
    for (const flag of tokenFiles) {
      expect(readme, flag).toContain(flag);
      expect(tokens, flag).toContain(flag);
    }
  });
});
