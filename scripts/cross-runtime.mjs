#!/usr/bin/env node
// Runs the same checks (scripts/cross-runtime/checks.ts, bundled once with esbuild) on Node 20
// (this process's node), Node 24, Bun, Deno with no flags, an edge-style worker (a module Worker
// in Deno with no permissions and no Node globals) and headless Chromium, and compares each step's
// output byte for byte with scripts/cross-runtime/golden.json. A failure names the runtime and
// the step. Bun, Deno and playwright-core come from the npm registry (installed into
// .cache/runtimes by --install); Chromium is Debian's /usr/bin/chromium.
//
//   node scripts/cross-runtime.mjs [--install] [--update] [--only=node20,bun,…]
import { build } from 'esbuild';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const here = join(root, 'scripts', 'cross-runtime');
const out = join(root, '.cache', 'cross-runtime');
const runtimes = join(root, '.cache', 'runtimes');
const GOLDEN = join(here, 'golden.json');
/** The runtime versions CI installs from the npm registry. */
const PINNED = ['bun@1.4.5', 'deno@2.9.6', 'playwright-core@1.65.2'];
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-sync',
  '--no-first-run',
];
const TIMEOUT = 120_000;

const args = process.argv.slice(2);
const update = args.includes('--update');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');

async function bundle(name, conditions, entry, platform = 'browser') {
  await build({
    stdin: { contents: entry, resolveDir: here, loader: 'ts', sourcefile: `${name}.ts` },
    bundle: true,
    format: 'esm',
    platform,
    target: 'es2022',
    conditions: ['@plumbline/source', ...conditions],
    outfile: join(out, `${name}.mjs`),
    logLevel: 'warning',
  });
}

const PRINT = `import { runChecks } from './checks.ts';
console.log(JSON.stringify(await runChecks()));`;
// An edge-style worker: only Web APIs; Node's and Deno's globals are taken away before core loads.
const WORKER = `for (const name of ['process', 'Deno', 'Bun', 'Buffer', 'global', 'require']) {
  try { delete globalThis[name]; } catch {}
  if (name in globalThis) try { Object.defineProperty(globalThis, name, { value: undefined }); } catch {}
}
const { runChecks } = await import('./checks.ts');
self.postMessage(JSON.stringify(await runChecks()));`;
// The worker's code travels inside the host as text (a Blob URL): with no permissions, the
// worker cannot read a file.
const EDGE_HOST = (code) => `const source = ${JSON.stringify(code)};
const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
const worker = new Worker(url, { type: 'module' });
worker.onmessage = (e) => { console.log(e.data); worker.terminate(); };
worker.onerror = (e) => { console.error('worker error:', e.message); Deno.exit(1); };`;
const PAGE = `import { runChecks } from './checks.ts';
runChecks().then((r) => { window.__results = JSON.stringify(r); }, (e) => { window.__results = JSON.stringify({ error: String(e) }); });`;

function bin(name) {
  const local = join(runtimes, 'node_modules', '.bin', name);
  return existsSync(local) ? local : name;
}

async function viaCommand(command, argv) {
  const { stdout } = await run(command, argv, {
    timeout: TIMEOUT,
    maxBuffer: 16 << 20,
    cwd: here,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** The runtime-neutral checks, then the `/node` ones with `nodeArgv` (file access only). */
async function both(command, neutralArgv, nodeArgv) {
  return { ...(await viaCommand(command, neutralArgv)), ...(await viaCommand(command, nodeArgv)) };
}

async function inChromium() {
  const require = createRequire(join(runtimes, 'package.json'));
  const { chromium } = require('playwright-core');
  const files = { '/': '<!doctype html><script type="module" src="/page.mjs"></script>' };
  files['/page.mjs'] = await readFile(join(out, 'page.mjs'), 'utf8');
  const server = createServer((req, res) => {
    const body = files[req.url ?? '/'];
    if (body === undefined) return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': req.url === '/' ? 'text/html' : 'text/javascript' })
      .end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
    timeout: TIMEOUT,
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const handle = await page
      .waitForFunction(() => globalThis.__results, undefined, { timeout: TIMEOUT })
      .catch((e) => {
        throw new Error(`${e.message} ${errors.join('; ')}`);
      });
    return JSON.parse(await handle.jsonValue());
  } finally {
    await browser.close();
    server.close();
  }
}

const at = (name) => join(out, name);
const RUNTIMES = {
  node20: () => both(process.execPath, [at('print.mjs')], [at('print-node.mjs')]),
  node24: () =>
    both(
      'npx',
      ['-y', '-p', 'node@24', 'node', at('print.mjs')],
      ['-y', '-p', 'node@24', 'node', at('print-node.mjs')],
    ),
  bun: () => both(bin('bun'), [at('print.mjs')], [at('print-node.mjs')]),
  // Deno: no flags at all for the runtime-neutral entry points, --allow-read for /node.
  deno: () =>
    both(bin('deno'), ['run', at('print.mjs')], ['run', '--allow-read', at('print-node.mjs')]),
  edge: () => viaCommand(bin('deno'), ['run', at('edge-host.mjs')]),
  chromium: inChromium,
};

function firstDifference(expected, actual) {
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i])
      return `line ${i + 1}: expected ${JSON.stringify(a[i]?.slice(0, 160))}, got ${JSON.stringify(b[i]?.slice(0, 160))}`;
  }
  return 'equal';
}

if (args.includes('--install')) {
  await mkdir(runtimes, { recursive: true });
  if (!existsSync(join(runtimes, 'package.json')))
    await writeFile(join(runtimes, 'package.json'), '{"private":true}\n');
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', runtimes, ...PINNED],
    { stdio: 'inherit' },
  );
}

await mkdir(out, { recursive: true });
await bundle('print', [], PRINT);
await bundle('edge-worker', ['worker'], WORKER);
await bundle('page', [], PAGE);
await bundle(
  'print-node',
  ['node'],
  `import { runNodeChecks } from './checks-node.ts';
console.log(JSON.stringify(await runNodeChecks()));`,
  'node',
);
await writeFile(
  join(out, 'edge-host.mjs'),
  EDGE_HOST(await readFile(join(out, 'edge-worker.mjs'), 'utf8')),
);

const golden = existsSync(GOLDEN) ? JSON.parse(await readFile(GOLDEN, 'utf8')) : {};
if (update) {
  const fresh = await RUNTIMES.node20();
  // Steps every runtime runs; /node steps are compared only where they ran.
  await writeFile(GOLDEN, `${JSON.stringify(fresh, null, 2)}\n`);
  console.log(`cross-runtime: wrote ${Object.keys(fresh).length} steps to ${GOLDEN}`);
  process.exit(0);
}

let failures = 0;
for (const [name, start] of Object.entries(RUNTIMES)) {
  if (only && !only.includes(name)) continue;
  const began = Date.now();
  let results;
  try {
    results = await start();
  } catch (error) {
    failures++;
    console.log(
      `cross-runtime: FAIL ${name}: did not run: ${String(error.message ?? error)
        .split('\n')
        .slice(0, 6)
        .join(' | ')}`,
    );
    continue;
  }
  let failed = 0;
  const nodeOnly = (step) => step.startsWith('node-') && (name === 'edge' || name === 'chromium');
  for (const step of new Set([...Object.keys(golden), ...Object.keys(results)])) {
    if (nodeOnly(step)) continue;
    const expected = golden[step];
    const actual = results[step];
    if (expected === actual) continue;
    failed++;
    const why =
      expected === undefined
        ? 'not in the golden file'
        : actual === undefined
          ? 'missing'
          : firstDifference(expected, actual);
    console.log(`cross-runtime: FAIL ${name} step ${step}: ${why}`);
  }
  failures += failed;
  console.log(
    `cross-runtime: ${failed === 0 ? 'ok  ' : 'FAIL'} ${name}: ${Object.keys(results).length} steps byte-identical${failed ? ` except ${failed}` : ''} (${Date.now() - began} ms)`,
  );
}
process.exit(failures === 0 ? 0 : 1);
