#!/usr/bin/env node
// `npm run check:examples`: every ```ts block of a TSDoc `@example` in packages/*/src and
// packages/adapters/*/src, and every ```ts block of docs/**/*.md, README.md and the packages'
// READMEs, must type-check against the real public API under strict TypeScript.
//
// The check uses the ES2023 library and Node's types without the DOM library, so a snippet's
// free `open` or `event` is not mistaken for the browser's global.
// Each block becomes one module under temp/check-examples/ (gitignored). Snippets are short and use
// names they do not declare (`monitor`, `token`, …), so the check runs tsc twice:
//   1. collect the names tsc cannot find (TS2304/TS2552);
//   2. import each one that a Plumbline entry point exports (the snippet's own package first),
//      import `readFile`/`writeFile`/… from node:fs/promises, declare the rest as `any`, and
//      type-check again. What still fails there is a real error: a wrong option name, a wrong
//      argument, a function that does not exist.
// Run it with the source condition so the entry points are the TypeScript sources:
//   node --conditions=@plumbline/source --import tsx scripts/check-examples.mjs [--keep] [--verbose]
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'temp', 'check-examples');
const keep = process.argv.includes('--keep');
const verbose = process.argv.includes('--verbose');

/** Source roots and the package each belongs to. */
function packages() {
  const found = [];
  const add = (dir) => {
    const manifest = join(root, dir, 'package.json');
    try {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
      if (statSync(join(root, dir, 'src')).isDirectory()) {
        found.push({ dir, name: pkg.name, exports: Object.keys(pkg.exports ?? { '.': null }) });
      }
    } catch {
      // not a package with sources
    }
  };
  for (const entry of readdirSync(join(root, 'packages'))) {
    if (entry === 'adapters') {
      for (const adapter of readdirSync(join(root, 'packages', 'adapters')))
        add(join('packages', 'adapters', adapter));
    } else add(join('packages', entry));
  }
  return found;
}

function walk(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The ```ts blocks of every `@example` in a file, with the line each starts on. */
export function extractExamples(text) {
  const examples = [];
  const comment = /\/\*\*[\s\S]*?\*\//g;
  let match;
  while ((match = comment.exec(text)) !== null) {
    const startLine = text.slice(0, match.index).split('\n').length;
    const lines = match[0].split('\n').map((line) =>
      line
        .replace(/^\s*\/\*\*\s?/, '')
        .replace(/\s*\*\/\s*$/, '')
        .replace(/^\s*\* ?/, ''),
    );
    let inExample = false;
    let block = null;
    lines.forEach((line, i) => {
      if (/^@example\b/.test(line)) inExample = true;
      else if (/^@\w+/.test(line) && block === null) inExample = false;
      if (!inExample) return;
      if (block === null && /^```(ts|typescript)\s*$/.test(line.trim())) {
        block = { line: startLine + i + 1, code: [] };
      } else if (block !== null && line.trim() === '```') {
        examples.push({ line: block.line, code: block.code.join('\n') });
        block = null;
      } else if (block !== null) block.code.push(line);
    });
  }
  return examples;
}

/** Which entry point a source file's examples import from first. */
function ownSpecifier(pkg, file) {
  const rel = relative(join(root, pkg.dir, 'src'), file).split(/[\\/]/);
  if (rel.length > 1 && pkg.exports.includes(`./${rel[0]}`)) return `${pkg.name}/${rel[0]}`;
  return pkg.name;
}

const NODE_NAMES = {
  readFile: 'node:fs/promises',
  writeFile: 'node:fs/promises',
  readFileSync: 'node:fs',
  writeFileSync: 'node:fs',
  createReadStream: 'node:fs',
  randomUUID: 'node:crypto',
  createHash: 'node:crypto',
  open: 'node:fs/promises',
  stat: 'node:fs/promises',
};

/** Type-checks the listed files with the TypeScript API; diagnostics of those files only. */
function tsc(project) {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    project,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const diagnostics = [];
  for (const file of parsed.fileNames) {
    const sf = program.getSourceFile(file);
    if (!sf) continue;
    const syntactic = program.getSyntacticDiagnostics(sf);
    const list = syntactic.length > 0 ? syntactic : program.getSemanticDiagnostics(sf);
    for (const d of list) {
      const { line } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
      diagnostics.push({
        file,
        line: line + 1,
        code: `TS${d.code}`,
        message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
      });
    }
  }
  return diagnostics;
}

/** The ```ts blocks of a Markdown file, with the line each starts on. */
export function extractMarkdownBlocks(text) {
  const blocks = [];
  let block = null;
  text.split('\n').forEach((line, i) => {
    if (block === null && /^```(ts|typescript)\s*$/.test(line.trim())) {
      block = { line: i + 2, code: [] };
    } else if (block !== null && line.trim() === '```') {
      blocks.push({ line: block.line, code: block.code.join('\n') });
      block = null;
    } else if (block !== null) block.code.push(line);
  });
  return blocks;
}

/**
 * A guide's snippet may import the reader's own files (`./sse-transport.js`): those are not
 * Plumbline's API, so each name imported from a relative path is declared `any` instead, keeping
 * the line count (diagnostics point at the right line).
 */
export function ownModulesAsAny(code) {
  return code.replace(
    /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'\.{1,2}\/[^']*';$/gm,
    (_, type, names) =>
      names
        .split(',')
        .map((n) =>
          n
            .trim()
            .split(/\s+as\s+/)
            .pop(),
        )
        .filter(Boolean)
        .map((n) => (type ? `type ${n} = any;` : `declare const ${n}: any;`))
        .join(' '),
  );
}

/** docs/ (without the generated API site), the root README and every package's README. */
function markdownFiles() {
  const out = [join(root, 'README.md')];
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', 'dist', 'api', 'temp'].includes(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.md')) out.push(path);
    }
  };
  visit(join(root, 'docs'));
  for (const pkg of packages()) {
    try {
      if (statSync(join(root, pkg.dir, 'README.md')).isFile())
        out.push(join(root, pkg.dir, 'README.md'));
    } catch {
      // no README
    }
  }
  return out;
}

const pkgs = packages();
const snippets = [];
for (const file of markdownFiles()) {
  const pkg = pkgs.find((p) => file.startsWith(join(root, p.dir) + '/'));
  for (const block of extractMarkdownBlocks(readFileSync(file, 'utf8'))) {
    const name = pkg?.name ?? '@plumbline/core';
    snippets.push({
      source: relative(root, file),
      line: block.line,
      code: ownModulesAsAny(block.code),
      own: name,
      pkg: name,
    });
  }
}
for (const pkg of pkgs) {
  for (const file of walk(join(root, pkg.dir, 'src'))) {
    for (const example of extractExamples(readFileSync(file, 'utf8'))) {
      snippets.push({
        source: relative(root, file),
        line: example.line,
        code: example.code,
        own: ownSpecifier(pkg, file),
        pkg: pkg.name,
      });
    }
  }
}

// The runtime names each entry point exports (the source condition resolves them to src/).
const entryNames = new Map();
for (const pkg of pkgs) {
  for (const sub of pkg.exports) {
    if (sub === './package.json') continue;
    const spec = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    try {
      entryNames.set(spec, new Set(Object.keys(await import(spec))));
    } catch {
      entryNames.set(spec, new Set());
    }
  }
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeFileSync(
  join(work, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: {
        noEmit: true,
        declaration: false,
        sourceMap: false,
        // Settings of an ordinary strict user project, not of this repository.
        exactOptionalPropertyTypes: false,
        noUncheckedIndexedAccess: false,
        verbatimModuleSyntax: false,
        isolatedModules: false,
        noUnusedLocals: false,
        noImplicitAny: false,
        lib: ['ES2023'],
      },
      files: [],
    },
    null,
    2,
  ),
);

/** Writes the tsconfig listing the snippets still being checked, and runs tsc on them. */
function check(indices) {
  const config = JSON.parse(readFileSync(join(work, 'tsconfig.json'), 'utf8'));
  config.files = indices.map((i) => fileOf(i).split(/[\\/]/).pop());
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify(config, null, 2));
  return tsc(join(work, 'tsconfig.json'));
}
const indexOf = (file) => Number(/example-(\d+)\.ts$/.exec(file)?.[1]);

const fileOf = (i) => join(work, `example-${String(i).padStart(4, '0')}.ts`);
const header = (s) => `// ${s.source}:${s.line}\n`;
snippets.forEach((s, i) => writeFileSync(fileOf(i), `${header(s)}${s.code}\nexport {};\n`));

// Pass 0: snippets that do not even parse are reported as they are and left out of the rest.
const syntax = check(snippets.map((_, i) => i)).filter((d) => /^TS1\d{3}$/.test(d.code));
const unparsable = new Set(syntax.map((d) => indexOf(d.file)));
const active = snippets.map((_, i) => i).filter((i) => !unparsable.has(i));

// Pass 1: names the snippets use without declaring.
const missing = new Map();
for (const d of check(active)) {
  if (d.code !== 'TS2304' && d.code !== 'TS2552' && d.code !== 'TS18004' && d.code !== 'TS2584')
    continue;
  const name = /(?:Cannot find name|shorthand property) '([^']+)'/.exec(d.message)?.[1];
  if (!name) continue;
  const key = d.file.replace(/\\/g, '/').split('/').pop();
  if (!missing.has(key)) missing.set(key, new Map());
  // A shorthand property (`{ headerDigest }`) names a local variable, never an import.
  const local = d.code === 'TS18004' || missing.get(key).get(name) === true;
  missing.get(key).set(name, local);
}

// Pass 2: with imports and declarations for those names.
snippets.forEach((s, i) => {
  const names = missing.get(fileOf(i).split('/').pop()) ?? new Map();
  const order = [s.own, s.pkg, '@plumbline/core', ...entryNames.keys()];
  const prelude = [];
  for (const [name, local] of names) {
    const spec = local
      ? undefined
      : order.find((candidate) => entryNames.get(candidate)?.has(name));
    if (spec) prelude.push(`import { ${name} } from '${spec}';`);
    else if (!local && NODE_NAMES[name])
      prelude.push(`import { ${name} } from '${NODE_NAMES[name]}';`);
    else if (/^[A-Z]/.test(name)) prelude.push(`type ${name} = any;`, `declare let ${name}: any;`);
    else prelude.push(`declare let ${name}: any;`);
  }
  s.prelude = prelude.length;
  writeFileSync(fileOf(i), `${header(s)}${prelude.join('\n')}\n${s.code}\nexport {};\n`);
});

for (const s of snippets) s.prelude ??= 0;
const errors = [...syntax, ...check(active)];
const failed = new Set();
for (const d of errors) {
  const index = indexOf(d.file);
  const s = snippets[index];
  if (!s) {
    console.error(`${d.file}(${d.line}): ${d.code}: ${d.message}`);
    failed.add(d.file);
    continue;
  }
  // Line in the snippet → line in the source comment.
  const snippetLine = d.line - 2 - s.prelude;
  console.error(`${s.source}:${s.line + snippetLine}: ${d.code}: ${d.message}`);
  if (verbose) console.error(readFileSync(fileOf(index), 'utf8'));
  failed.add(index);
}
if (!keep) rmSync(work, { recursive: true, force: true });
console.log(
  `check-examples: ${snippets.length} examples from ${new Set(snippets.map((s) => s.source)).size} files, ${failed.size} failing`,
);
process.exitCode = failed.size === 0 ? 0 : 1;
