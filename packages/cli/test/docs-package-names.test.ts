import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `plumbline` without the scope is someone else's package on the npm registry: a docs line that
// runs it through npx (or any "download and run" front end) runs their code. Every such line must
// name `@plumbline/cli`.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `npx plumbline`, `npx -y plumbline`, `npm exec plumbline`, `pnpm dlx plumbline`, `bunx plumbline`… */
const UNSCOPED_RUN =
  /\b(?:npx|bunx|pnpx|(?:pnpm|yarn) dlx|npm (?:exec|x))(?:\s+-{1,2}[\w-]+(?:=\S+)?)*\s+(?:--\s+)?plumbline(?:@\S*)?(?=\s|$|["'`)])/;

function documents(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', 'api', 'temp', 'coverage'].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) documents(path, out);
    else if (/\.(md|ya?ml)$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe('package names in the docs', () => {
  it('the pattern catches every front end that downloads and runs a package', () => {
    for (const line of [
      'npx plumbline seal',
      'npx -y plumbline verify',
      'npx --yes plumbline@latest verify',
      'eval "docker build $(npx plumbline oci-labels a.plb)"',
      'npm exec -- plumbline manifest',
      'pnpm dlx plumbline manifest',
      'bunx plumbline',
    ])
      expect(line).toMatch(UNSCOPED_RUN);
    for (const line of [
      'npx @plumbline/cli seal',
      'npx -y @plumbline/cli verify',
      'plumbline seal',
      'npx plumbline-other',
    ])
      expect(line).not.toMatch(UNSCOPED_RUN);
  });

  it('no README, guide or workflow runs the unscoped `plumbline` package', () => {
    const files = [
      ...documents(join(root, 'docs')),
      ...documents(join(root, 'packages')),
      ...documents(join(root, '.github')),
      join(root, 'README.md'),
      join(root, 'DEVELOPING.md'),
    ];
    expect(files.length).toBeGreaterThan(10);
    const offending: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (UNSCOPED_RUN.test(line)) offending.push(`${relative(root, file)}:${i + 1}: ${line}`);
        });
    }
    expect(offending).toEqual([]);
  });
});

describe('release workflow', () => {
  const workflow = readFileSync(join(root, '.github', 'workflows', 'release.yml'), 'utf8');

  it('publishes through changesets with npm provenance from an OIDC identity', () => {
    expect(workflow).toMatch(/uses: changesets\/action@v\d/);
    expect(workflow).toMatch(/publish: npx changeset publish/);
    expect(workflow).toMatch(/id-token: write/);
    expect(workflow).toMatch(/NPM_CONFIG_PROVENANCE: 'true'/);
  });

  it('checks what it publishes: typecheck, build, API reports and packed tarballs first', () => {
    const steps = ['npm ci', 'npm run typecheck', 'npm run build', 'npm run api:check'];
    const positions = [...steps, 'npm run pack:check', 'uses: changesets/action'].map((s) =>
      workflow.indexOf(s),
    );
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

describe('READMEs keep their promises', () => {
  it('the core README\'s "In ten lines" block is ten lines', () => {
    const readme = readFileSync(join(root, 'packages', 'core', 'README.md'), 'utf8');
    const block = /## In ten lines\n\n(?:<!-- prettier-ignore -->\n)?```ts\n([\s\S]*?)\n```/.exec(
      readme,
    );
    expect(block).not.toBeNull();
    expect(block![1]!.split('\n')).toHaveLength(10);
  });

  it('the README links the fleet dashboard guide', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('(docs/guides/dashboard.md)');
  });
});
