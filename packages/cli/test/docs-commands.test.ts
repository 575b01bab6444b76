import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

// Every `plumbline …` command line in the READMEs and docs (shell code blocks and inline code; a
// block without a language is output) names a
// command that exists and only options that command takes, as its own `--help` lists them.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function documents(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', 'temp', 'coverage', 'fixtures'].includes(entry.name))
      continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) documents(path, out);
    else if (entry.name.endsWith('.md')) out.push(path);
  }
  return out;
}

interface Use {
  readonly where: string;
  readonly words: readonly string[];
}

/** Shell text of a document: its shell code blocks (continuations joined) and inline code spans. */
function shellText(markdown: string): string[] {
  const texts: string[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```/gm;
  for (const block of markdown.matchAll(fence)) {
    if (['sh', 'bash', 'shell', 'zsh', 'yaml', 'yml'].includes(block[1]!)) {
      texts.push(...block[2]!.replace(/\\\n/g, ' ').split('\n'));
    }
  }
  const prose = markdown.replace(fence, '');
  for (const span of prose.matchAll(/`([^`\n]+)`/g)) texts.push(span[1]!);
  return texts;
}

/** The `plumbline …` (or `npx @plumbline/cli …`) invocations in a line, one per command of a pipeline or list. */
function uses(line: string): string[][] {
  const found: string[][] = [];
  const code = line.replace(/(^|\s)#.*$/, '');
  for (const match of code.matchAll(
    /(?:^|[\s("'$])(?:plumbline|@plumbline\/cli(?:@[\w.-]+)?)\s+([^|;&)`<>]*)/g,
  )) {
    const words = match[1]!.trim().split(/\s+/).filter(Boolean);
    if (words.length > 0) found.push(words);
  }
  return found;
}

/** The long options a `--help` text lists. */
function optionsOf(help: string): Set<string> {
  const options = new Set<string>();
  for (const line of help.split('\n')) {
    const match = /^\s+(?:-\w, )?(--[a-z0-9-]+)/.exec(line);
    if (match !== null) options.add(match[1]!);
  }
  return options;
}

/** The subcommands a `--help` text lists. */
function commandsOf(help: string): Set<string> {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const match = /^ {2}([a-z][a-z-]*)/.exec(line);
    if (match !== null) names.add(match[1]!);
  }
  return names;
}

const helps = new Map<string, string>();
async function help(path: readonly string[]): Promise<string> {
  const key = path.join(' ');
  if (!helps.has(key)) {
    const result = await runCli([...path, '--help']);
    expect(result.code, key).toBe(0);
    helps.set(key, result.stdout);
  }
  return helps.get(key)!;
}

describe('plumbline command lines in the docs', () => {
  const all: Use[] = [];
  beforeAll(() => {
    const files = [
      join(root, 'README.md'),
      join(root, 'DEVELOPING.md'),
      ...documents(join(root, 'docs')),
      ...documents(join(root, 'packages')),
    ];
    for (const file of files) {
      for (const line of shellText(readFileSync(file, 'utf8'))) {
        for (const words of uses(line)) all.push({ where: relative(root, file), words });
      }
    }
  });

  it('finds the command lines of the READMEs and guides', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(new Set(all.map((u) => u.where)).size).toBeGreaterThan(10);
  });

  it('name commands that exist and options those commands take', async () => {
    const globals = optionsOf(await help([]));
    const commands = commandsOf(await help([]));
    const wrong: string[] = [];
    for (const use of all) {
      const [first, second] = use.words;
      // `plumbline <file>` in prose, a placeholder (`plumbline <command>`) or an option alone.
      if (first === undefined || !/^[a-z][a-z-]*$/.test(first)) continue;
      if (!commands.has(first)) {
        wrong.push(`${use.where}: unknown command in \`plumbline ${use.words.join(' ')}\``);
        continue;
      }
      const path = [first];
      const subs = commandsOf(await help(path));
      const sub = use.words.find((w, i) => i > 0 && subs.has(w) && w !== 'help');
      const valid = new Set([...globals, ...optionsOf(await help(path))]);
      if (sub !== undefined && second !== undefined) {
        for (const option of optionsOf(await help([first, sub]))) valid.add(option);
      }
      for (const word of use.words) {
        const option = /^(--[a-z0-9-]+)(?:=.*)?$/.exec(word)?.[1];
        if (option !== undefined && !valid.has(option)) {
          wrong.push(`${use.where}: ${option} in \`plumbline ${use.words.join(' ')}\``);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('quote the defaults the commands have', async () => {
    // [document, command, option]: the document says "`--option` (default X)" or "`--option`, default X".
    const quoted: [string, string, string][] = [
      ['packages/cli/README.md', 'agent', '--rehash-interval'],
      ['docs/guides/live-config-probes.md', 'agent', '--probe-timeout'],
      ['docs/guides/control-plane-and-agent.md', 'control-plane', '--schema'],
    ];
    const plain = (text: string): string => text.replace(/[`\s]/g, '');
    for (const [file, command, option] of quoted) {
      const text = readFileSync(join(root, file), 'utf8').replace(/\s+/g, ' ');
      const doc = new RegExp(`\`${option}\`,? \\(?default ([^),;]+)`).exec(text);
      expect(doc, `${file} ${option}`).not.toBeNull();
      const helpText = (await help([command])).replace(/\s+/g, ' ');
      const ours = new RegExp(`${option} <\\w+> [^(]*\\(default ([^)]+)\\)`).exec(helpText);
      expect(ours, `${command} ${option}`).not.toBeNull();
      expect(plain(doc![1]!), `${file} ${option}`).toBe(plain(ours![1]!));
    }
  });

  it('quote the Node.js version the CLI package requires', () => {
    const readme = readFileSync(join(root, 'packages', 'cli', 'README.md'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(root, 'packages', 'cli', 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const version = /Node\.js (\d+\.\d+) or later/.exec(readme)![1]!;
    expect(pkg.engines.node).toBe(`>=${version}`);
  });
});
