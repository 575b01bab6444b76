import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers.js';

// The scripts run in the real shells (bash, zsh and fish are installed by .ci/run).
let dir: string;
const scripts: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-completion-'));
  for (const shell of ['bash', 'zsh', 'fish']) {
    const result = await runCli(['completion', shell]);
    expect(result.code).toBe(0);
    scripts[shell] = join(dir, `plumbline.${shell}`);
    await writeFile(scripts[shell], result.stdout);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What bash's completion function offers for the words typed so far (the last one is completed). */
function bash(words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '--norc',
      '-c',
      `source '${scripts['bash']}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _plumbline; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter((line) => line !== '');
}

describe('plumbline completion', () => {
  test('bash completes commands, subcommands and options, inherited ones included', () => {
    expect(bash(['plumbline', 'fl'])).toEqual(['fleet']);
    expect(bash(['plumbline', 've'])).toEqual([
      'verify-proof',
      'verify-image',
      'verify',
      'verify-signature',
    ]);
    expect(bash(['plumbline', 'fleet', 's'])).toEqual(['set-desired']);
    expect(bash(['plumbline', 'seal', '--co'])).toEqual(['--commit']);
    expect(bash(['plumbline', 'fleet', 'set-desired', '--c'])).toEqual(
      expect.arrayContaining(['--cluster', '--control-plane']) as unknown as string[],
    );
    expect(bash(['plumbline', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    // A command that takes paths leaves the word to file-name completion (complete -o default).
    expect(bash(['plumbline', 'inspect', 'dist/'])).toEqual([]);
    const registered = execFileSync(
      'bash',
      ['--norc', '-c', `source '${scripts['bash']}'; complete -p plumbline`],
      { encoding: 'utf8' },
    );
    expect(registered.trim()).toBe('complete -o default -F _plumbline plumbline');
  });

  test('zsh registers the completion through bashcompinit and offers the subcommands', () => {
    const out = execFileSync(
      'zsh',
      [
        '-f',
        '-c',
        `source '${scripts['zsh']}'; print -r -- "\${_comps[plumbline]}"; setopt ksharrays; ` +
          `COMP_WORDS=(plumbline fleet s); COMP_CWORD=2; _plumbline; print -r -- "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    );
    const [registered, offered] = out.trimEnd().split('\n');
    expect(registered).toBe('_bash_complete -o default -F _plumbline');
    // zsh filters candidates by the typed prefix itself; these are fleet's subcommands.
    expect(offered!.split(' ')).toEqual(['node', 'set-desired', 'expected-nodes']);
  });

  test('fish completes commands with their descriptions, subcommands and options', () => {
    const complete = (line: string): string[] =>
      execFileSync('fish', ['-N', '-c', `source '${scripts['fish']}'; complete -C '${line}'`], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter((l) => l !== '');
    expect(complete('plumbline fl')).toEqual([
      'fleet\tshow the fleet (nodes and their drift state) from a control plane',
    ]);
    expect(complete('plumbline fleet s')[0]).toMatch(/^set-desired\t/);
    expect(complete('plumbline seal --comm')).toEqual([
      '--commit\tgit commit (40 or 64 hex); default from CI variables',
    ]);
    expect(complete('plumbline completion ')).toEqual(['bash', 'fish', 'zsh']);
  });

  test('an unknown shell is a usage error listing the shells', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^plumbline: PLB_USAGE: .*'tcsh'.*bash, zsh, fish/);
  });
});
