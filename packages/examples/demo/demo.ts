// `npm run demo`: Plumbline end to end on the sample gateway configuration in ../fixtures.
//
// The build steps run the `plumbline` command line (in this process, through `run` of
// @plumbline/cli, with the arguments an operator's CI would pass, from the repository root); each
// `$ plumbline …` line it prints runs as shown from the repository root (with node_modules/.bin on
// PATH) and is followed by that command's real output;
// the fleet runs in this process on loopback: a control plane (`startControlPlane` of
// @plumbline/cli), two gateways that embed @plumbline/core and report through @plumbline/ws
// (../gateway), and a third gateway written "in another language" with the `plumbline agent`
// sidecar beside it (`startAgent`). A webhook receiver checks every alert's signature.
// Last, a fourth gateway (Caddy, in a cluster of its own) is probed live by its agent: a change
// made through Caddy's admin API (`POST /load`) is caught as drift naming the changed JSON path.
// It is a real Caddy when `caddy` is on PATH; otherwise an in-process HTTP endpoint answering
// Caddy's admin API stands in for it, and the demo says so.
//
// The control plane serves the fleet dashboard at /ui/ on its admin listener; the demo prints its
// URL when it starts. On a terminal the demo then keeps the fleet up at the end until Enter or
// Ctrl-C, so the dashboard can be explored; `--exit` ends at once instead. When stdout is not a
// terminal (CI, tests) it ends at once, unless `--keep-open` is given.
//
//   npm run demo                  # keeps the dashboard open at the end when run in a terminal
//   npm run demo -- --exit        # always ends after the story
//   npm run demo -- --keep-open   # always waits for Enter or Ctrl-C at the end
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, startAgent, startControlPlane } from '@plumbline/cli';
import { hashAdminToken } from '@plumbline/core/admin';
import { verifyWebhookSignature } from '@plumbline/core/drift';
import { createCaddyProbe } from '@plumbline/core/probe';
import { createKeyVerifier } from '@plumbline/core/signer';
import type { LoadPolicy } from '@plumbline/core/verify';
import { hashToken } from '@plumbline/ws';
import { startGateway, type Gateway } from '../gateway/gateway.js';

const flags = process.argv.slice(2);
for (const flag of flags) {
  if (flag !== '--exit' && flag !== '--keep-open') {
    console.error(`plumbline demo: PLB_USAGE: unknown option ${flag} (use --exit or --keep-open)`);
    process.exit(2);
  }
}
if (flags.includes('--exit') && flags.includes('--keep-open')) {
  console.error('plumbline demo: PLB_USAGE: --exit and --keep-open exclude each other');
  process.exit(2);
}
const keepOpen =
  flags.includes('--keep-open') || (process.stdout.isTTY && !flags.includes('--exit'));
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const fixtures = join(here, '..', 'fixtures', 'gateway-config');
const out = process.env.PLUMBLINE_DEMO_OUT ?? join(here, '..', 'out');
const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (s: string): string => (colour ? `\u001b[1m${s}\u001b[0m` : s);
const dim = (s: string): string => (colour ? `\u001b[2m${s}\u001b[0m` : s);
const CLUSTER = 'prod-eu';
const NODES = ['gw-1', 'gw-2', 'gw-3'] as const;
/** The Caddy gateway of the live-configuration step, in a cluster of its own. */
const EDGE = { cluster: 'edge', node: 'edge-1' } as const;
const COMMIT_V1 = '4f1c2a9e7b3d5c8e1f0a2b4c6d8e0f1a3b5c7d9e';
const COMMIT_V2 = '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b';

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'keys'), { recursive: true });
/** A path as the printed commands give it: relative to the repository root they run from. */
const show = (path: string): string => relative(repo, path) || '.';
/** Quotes an argument for a POSIX shell when it needs it (globs such as `specs/**=spec`). */
const quote = (arg: string): string => (/^[\w./:=@%+,-]+$/.test(arg) ? arg : `'${arg}'`);
/** Sealing is reproducible: the build timestamp comes from SOURCE_DATE_EPOCH, shown with the command. */
const EPOCH = { SOURCE_DATE_EPOCH: '1767225600' };

/**
 * Runs `plumbline <args>` from the repository root, printing the command as a shell line and then
 * its real output (stdout, then any notes on stderr) unless `quiet`; returns its stdout. Fails the
 * demo on an unexpected exit code.
 */
async function plumbline(
  args: string[],
  options: { expect?: number; quiet?: boolean; env?: Record<string, string> } = {},
): Promise<string> {
  const relativeArgs = args.map((a) => (a.startsWith(repo) || a.startsWith(out) ? show(a) : a));
  const env = options.env ?? {};
  const prefix = Object.entries(env).map(([k, v]) => `${k}=${v} `);
  if (!options.quiet)
    console.log(dim(`$ ${prefix.join('')}plumbline ${relativeArgs.map(quote).join(' ')}`));
  let stdout = '';
  let stderr = '';
  const status = await run(relativeArgs, {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: { ...process.env, ...env },
    cwd: repo,
  });
  if (status !== (options.expect ?? 0)) {
    process.stderr.write(stderr);
    throw new Error(`plumbline ${args[0]} exited with ${status}, expected ${options.expect ?? 0}`);
  }
  if (!options.quiet) process.stdout.write(stdout + stderr);
  return stdout;
}

const short = (hash: string | null | undefined): string =>
  hash === null || hash === undefined ? '—' : `${hash.slice(7, 19)}…`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const roles = ['--role', 'specs/**=spec', '--role', 'plugins/**=plugin', '--role', '**=config'];

// ---- state shared by the steps ---------------------------------------------------------------
const adminToken = randomBytes(24).toString('base64url');
const webhookSecret = randomBytes(32).toString('hex');
const nodeTokens = Object.fromEntries(
  [...NODES, EDGE.node].map((id) => [id, randomBytes(24).toString('hex')]),
);
const hashes: { v1?: string; v2?: string } = {};
let controlPlane: Awaited<ReturnType<typeof startControlPlane>> | undefined;
let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
let edgeAgent: Awaited<ReturnType<typeof startAgent>> | undefined;
let edgeGateway: { admin: string; close: () => Promise<void> } | undefined;
const gateways = new Map<string, Gateway>();
let receiver: http.Server | undefined;
const alerts: {
  type: string;
  node_id?: string;
  verified: boolean;
  body: Record<string, unknown>;
}[] = [];
let policy: LoadPolicy | undefined;

async function fleet(): Promise<{
  clusters: {
    cluster: string;
    desired_hash: string | null;
    rollout: unknown;
    counts: Record<string, number>;
  }[];
  nodes: {
    node_id: string;
    state: string;
    live_config?: { status: string; differences?: string[] } | null;
    reported_hash: string | null;
    desired_hash: string | null;
    provenance: { commit?: string } | null;
  }[];
}> {
  const response = await fetch(`${controlPlane!.adminUrl}/v1/fleet`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  if (response.status !== 200) throw new Error(`GET /v1/fleet answered ${response.status}`);
  return (await response.json()) as never;
}

async function printFleet(title: string): Promise<void> {
  const { nodes } = await fleet();
  console.log(dim(`  fleet (GET /v1/fleet) ${title}`));
  console.log(
    `  ${'node'.padEnd(6)} ${'state'.padEnd(13)} ${'reports'.padEnd(14)} ${'desired'.padEnd(14)} commit`,
  );
  for (const id of NODES) {
    const n = nodes.find((node) => node.node_id === id);
    const state = n?.state ?? 'not expected';
    const painted =
      colour && state === 'drift' ? `\u001b[31m${state.padEnd(13)}\u001b[0m` : state.padEnd(13);
    console.log(
      `  ${id.padEnd(6)} ${painted} ${short(n?.reported_hash).padEnd(14)} ${short(n?.desired_hash).padEnd(14)} ${n?.provenance?.commit?.slice(0, 10) ?? '—'}`,
    );
  }
}

async function until(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
const nodeState = async (id: string): Promise<string | undefined> =>
  (await fleet()).nodes.find((n) => n.node_id === id)?.state;

async function put(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${controlPlane!.adminUrl}${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200)
    throw new Error(`PUT ${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Seals the compiled routes of `config` into `dir/<name>.plb` and signs it (attached bundle). */
async function sealAndSign(config: string, name: string, commit: string): Promise<string> {
  const artifact = join(out, `${name}.plb`);
  await plumbline(
    [
      'seal',
      '--inputs',
      config,
      ...roles,
      '--payload',
      join(config, 'routes.json'),
      '--media-type',
      'application/json',
      '--out',
      artifact,
      '--commit',
      commit,
      '--source',
      'https://github.com/acme/storefront-gateway',
      '--ref',
      'refs/heads/main',
      '--builder-id',
      'acme-gateway-compiler',
      '--builder-version',
      '2.4.0',
    ],
    { env: EPOCH },
  );
  cpSync(artifact, join(out, `${name}.unsigned.plb`));
  await plumbline([
    'sign',
    artifact,
    '--key',
    join(out, 'keys', 'release.key.pem'),
    '--attach',
    '--no-tlog',
  ]);
  return artifact;
}

async function artifactHashOf(artifact: string): Promise<string> {
  const header = JSON.parse(await plumbline(['inspect', artifact, '--json'], { quiet: true })) as {
    artifact_hash: string;
  };
  return header.artifact_hash;
}

/** Copies an artifact to a node's disk, as a deployment would. */
function deploy(artifact: string, node: string): string {
  const dir = join(out, 'nodes', node);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, 'gateway.plb');
  cpSync(artifact, target);
  return target;
}

async function startEmbedded(node: string, artifact: string): Promise<void> {
  const gateway = await startGateway({
    artifact,
    adminTokens: [{ id: 'operator', sha256: hashAdminToken(adminToken) }],
    policy: policy!,
    controlPlane: {
      url: controlPlane!.wsUrl,
      nodeId: node,
      cluster: CLUSTER,
      token: nodeTokens[node]!,
      heartbeatIntervalMs: 500,
    },
  });
  gateways.set(node, gateway);
  console.log(
    `  ${node}: embedded gateway serving ${gateway.publicUrl}, admin ${gateway.adminUrl}`,
  );
}

/** A free loopback port (for Caddy, which is told its ports in its configuration). */
async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Caddy's JSON configuration for the live-configuration step: one route answering a fixed body. */
function caddyConfig(adminPort: number, port: number, body: string): Record<string, unknown> {
  return {
    admin: { listen: `127.0.0.1:${adminPort}` },
    apps: {
      http: {
        servers: {
          main: {
            listen: [`127.0.0.1:${port}`],
            routes: [{ handle: [{ handler: 'static_response', body }] }],
          },
        },
      },
    },
  };
}

/** Starts a real Caddy (`caddy run`) on loopback with `configFile` and waits for its admin API. */
async function startCaddy(configFile: string, admin: string, home: string): Promise<ChildProcess> {
  const caddy = spawn('caddy', ['run', '--config', configFile], {
    stdio: 'ignore',
    env: { ...process.env, HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home },
  });
  await until(
    'Caddy to start',
    () =>
      fetch(`${admin}/config/`).then(
        (r) => r.ok,
        () => false,
      ),
    10_000,
  );
  return caddy;
}

/**
 * A stand-in for Caddy's admin API when Caddy is not installed: `GET /config/` answers the
 * configuration last given to `POST /load`, as Caddy does. It serves no traffic.
 */
async function startCaddyStandIn(
  config: Record<string, unknown>,
): Promise<{ admin: string; close: () => Promise<void> }> {
  let running = JSON.stringify(config);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/config/') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(running);
      } else if (req.method === 'POST' && req.url === '/load') {
        running = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    admin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Whether a `caddy` binary is on PATH. */
const caddyInstalled = (): boolean =>
  spawnSync('caddy', ['version'], { stdio: 'ignore' }).status === 0;

/**
 * Starts the edge gateway of the live-configuration step, writing the configuration it runs to
 * `dir/caddy.json`: a real Caddy when one is installed, otherwise the labelled stand-in.
 */
async function startEdgeGateway(dir: string): Promise<Record<string, unknown>> {
  const configFile = join(dir, 'caddy.json');
  if (caddyInstalled()) {
    const adminPort = await freePort();
    const config = caddyConfig(adminPort, await freePort(), 'hello from the sealed config');
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const admin = `http://127.0.0.1:${adminPort}`;
    const home = join(out, 'caddy-home'); // Caddy's own files, outside the sealed inputs
    mkdirSync(home, { recursive: true });
    const caddy = await startCaddy(configFile, admin, home);
    edgeGateway = {
      admin,
      close: async () => {
        if (caddy.exitCode !== null || caddy.signalCode !== null) return;
        const exited = new Promise((resolve) => caddy.once('exit', resolve));
        caddy.kill('SIGTERM');
        await exited;
      },
    };
    console.log(`  edge-1: Caddy ${bold('(real, caddy run)')} with its admin API on ${admin}`);
    return config;
  }
  // Caddy is not installed: the admin address is only known once the stand-in listens.
  const standIn = await startCaddyStandIn({});
  const port = Number(new URL(standIn.admin).port);
  const config = caddyConfig(port, await freePort(), 'hello from the sealed config');
  await fetch(`${standIn.admin}/load`, { method: 'POST', body: JSON.stringify(config) });
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  edgeGateway = standIn;
  console.log(
    `  edge-1: ${bold('STAND-IN for Caddy')} (caddy is not on PATH): an in-process HTTP endpoint`,
  );
  console.log(`  answering Caddy's admin API (GET /config/, POST /load) on ${standIn.admin}`);
  return config;
}

const STEPS: [string, () => Promise<void> | void][] = [
  [
    'Fingerprint the gateway configuration',
    async () => {
      console.log(
        'Three OpenAPI specs, a YAML and a JSON config and a WebAssembly plugin go into the',
      );
      console.log(
        'gateway. Plumbline hashes each file and combines them into one RFC 9162 Merkle root.',
      );
      const manifest = join(out, 'manifest.json');
      console.log(dim('The `$ plumbline …` lines run as shown from the repository root, with'));
      console.log(dim('node_modules/.bin on PATH: export PATH="$PWD/node_modules/.bin:$PATH"'));
      const root = (await plumbline(['manifest', fixtures, ...roles, '--out', manifest])).trim();
      console.log(dim(`  entries of ${show(manifest)}:`));
      const entries = (
        JSON.parse(readFileSync(manifest, 'utf8')) as {
          entries: { digest: string; role: string; path: string }[];
        }
      ).entries;
      for (const e of entries)
        console.log(`  ${e.digest.slice(0, 19)}…  ${e.role.padEnd(6)}  ${e.path}`);
      const proof = join(out, 'rate-limit.proof.json');
      await plumbline(['prove', manifest, 'plugins/rate-limit.wasm', '--out', proof], {
        quiet: true,
      });
      await plumbline(['verify-proof', proof, '--root', root]);
    },
  ],
  [
    'Seal, sign, SBOM and image labels (what the build pipeline does)',
    async () => {
      await plumbline(['keygen', '--out', join(out, 'keys', 'release')]);
      const v1 = await sealAndSign(fixtures, 'v1', COMMIT_V1);
      hashes.v1 = await artifactHashOf(v1);
      console.log(`artifact v1: ${show(v1)}, artifact_hash ${bold(hashes.v1)}`);
      await plumbline(['inspect', v1]);
      await plumbline(['verify', v1, '--inputs', fixtures]);
      await plumbline(['verify-signature', v1, '--key', join(out, 'keys', 'release.pub.pem')]);
      const sbom = join(out, 'v1.cdx.json');
      await plumbline(['sbom', v1, '--out', sbom]);
      const bom = JSON.parse(readFileSync(sbom, 'utf8')) as {
        specVersion: string;
        components?: unknown[];
      };
      console.log(
        `  CycloneDX ${bom.specVersion} SBOM with ${bom.components?.length ?? 0} components: ${show(sbom)}`,
      );
      await plumbline(['oci-labels', v1, '--format', 'dockerfile']);
      const labels = await plumbline(['oci-labels', v1, '--format', 'json'], { quiet: true });
      writeFileSync(join(out, 'v1.labels.json'), labels);
    },
  ],
  [
    'Under `enforce`, gateways refuse unsigned and tampered artifacts',
    async () => {
      policy = {
        mode: 'enforce',
        requireCommit: true,
        allowedSources: ['https://github.com/acme/*'],
        requireSignature: true,
        verifier: await createKeyVerifier({
          publicKeys: [readFileSync(join(out, 'keys', 'release.pub.pem'), 'utf8')],
        }),
      };
      console.log(
        'Policy: enforce, commit required, source https://github.com/acme/*, signed by the release key.',
      );
      const tampered = join(out, 'v1.tampered.plb');
      const bytes = readFileSync(join(out, 'v1.plb'));
      const at = bytes.lastIndexOf('"retries": 0');
      bytes.write('"retries": 9', at);
      writeFileSync(tampered, bytes);
      for (const [label, file] of [
        ['unsigned', join(out, 'v1.unsigned.plb')],
        ['tampered', tampered],
      ] as const) {
        try {
          await startGateway({ artifact: file, adminTokens: [], policy });
          throw new Error(`the ${label} artifact was accepted`);
        } catch (error) {
          const coded = error as { code?: string; message: string };
          if (coded.code !== 'PLB_LOAD_REJECTED') throw error;
          console.log(`  ${label.padEnd(8)} → refused: ${coded.code}: ${coded.message}`);
        }
      }
    },
  ],
  [
    'Start the control plane and the webhook receiver',
    async () => {
      receiver = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          verifyWebhookSignature({
            secret: webhookSecret,
            body,
            header: req.headers['plumbline-signature'] as string | undefined,
          })
            .then(
              () => true,
              () => false,
            )
            .then((verified) => {
              const event = JSON.parse(body) as Record<string, unknown>;
              alerts.push({
                type: String(event.type),
                node_id: event.node_id as string,
                verified,
                body: event,
              });
              res.writeHead(verified ? 204 : 401).end();
            });
        });
      });
      await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
      const { port } = receiver.address() as { port: number };
      controlPlane = await startControlPlane({
        adminToken,
        nodeTokens: Object.fromEntries([
          ...NODES.map((id) => [
            id,
            { cluster: CLUSTER, token_sha256: hashToken(nodeTokens[id]!) },
          ]),
          [EDGE.node, { cluster: EDGE.cluster, token_sha256: hashToken(nodeTokens[EDGE.node]!) }],
        ]),
        store: join(out, 'control-plane-state.json'),
        heartbeatIntervalMs: 500,
        webhook: { url: `http://127.0.0.1:${port}/alerts`, secret: webhookSecret },
        audit: { path: join(out, 'audit.jsonl') },
        logOutput: {
          write: (line: string) =>
            writeFileSync(join(out, 'control-plane.log'), line, { flag: 'a' }),
        },
      });
      console.log(`  data planes connect to ${controlPlane.wsUrl}`);
      console.log(
        `  fleet API on ${controlPlane.adminUrl}, alerts to http://127.0.0.1:${port}/alerts`,
      );
      // The admin token is a secret: it goes to a 0600 file (as --admin-token-file would hold it)
      // and, on a terminal only, once to the screen; never into the logs or the audit trail.
      const tokenFile = join(out, 'admin.token');
      writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
      console.log(`  ${bold('dashboard')}: ${controlPlane.adminUrl}/ui/`);
      if (process.stdout.isTTY) {
        console.log(
          `  ${bold('admin token')} (secret; paste it into the dashboard's sign-in): ${adminToken}`,
        );
      } else {
        console.log(`  admin token: in ${show(tokenFile)} (not printed: stdout is not a terminal)`);
      }
    },
  ],
  [
    'Roll out v1: desired state first, then the gateways come up (never_seen → in_sync)',
    async () => {
      await put(`/v1/clusters/${CLUSTER}/expected-nodes`, { nodes: NODES });
      await put(`/v1/clusters/${CLUSTER}/desired`, {
        artifact_hash: hashes.v1,
        deadline_seconds: 120,
        reason: 'release v1',
      });
      await printFleet('after PUT desired (deadline 120 s)');
      await startEmbedded('gw-1', deploy(join(out, 'v1.plb'), 'gw-1'));
      await startEmbedded('gw-2', deploy(join(out, 'v1.plb'), 'gw-2'));
      const tokenFile = join(out, 'nodes', 'gw-3.token');
      writeFileSync(tokenFile, `${nodeTokens['gw-3']}\n`, { mode: 0o600 });
      agent = await startAgent({
        artifact: deploy(join(out, 'v1.plb'), 'gw-3'),
        controlPlane: controlPlane!.wsUrl,
        nodeId: 'gw-3',
        cluster: CLUSTER,
        tokenFile,
        adminListen: { host: '127.0.0.1', port: 0 },
        adminToken,
        heartbeatIntervalMs: 500,
        rehashIntervalMs: 60_000,
        policy: policy!,
        logOutput: {
          write: (line: string) => writeFileSync(join(out, 'agent-gw-3.log'), line, { flag: 'a' }),
        },
      });
      console.log(
        `  gw-3: a non-JavaScript gateway that only reads ${show(join(out, 'nodes', 'gw-3', 'gateway.plb'))}; plumbline agent beside it, admin ${agent.adminUrl}`,
      );
      await until('all in sync', async () =>
        (await fleet()).nodes.every((n) => n.state === 'in_sync'),
      );
      await printFleet('once every gateway reported');
      const provenance = await fetch(`${gateways.get('gw-1')!.adminUrl}/_admin/provenance`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const doc = (await provenance.json()) as {
        artifact_hash: string;
        verification: { status: string };
      };
      console.log(
        `  GET gw-1 /_admin/provenance → ${doc.verification.status} ${short(doc.artifact_hash)}`,
      );
    },
  ],
  [
    "Tamper with gw-3's artifact on disk (→ ConfigurationDrift)",
    async () => {
      const file = join(out, 'nodes', 'gw-3', 'gateway.plb');
      const bytes = readFileSync(file);
      const at = bytes.lastIndexOf('"upstream": "payments"');
      bytes.write('"upstream": "attacker"', at);
      writeFileSync(file, bytes);
      console.log(
        'Someone edits the payments upstream inside the deployed artifact. The agent notices',
      );
      console.log(
        '(file watch, or its periodic re-hash) that it no longer verifies and reports it.',
      );
      await agent!.check();
      await until('drift', async () => (await nodeState('gw-3')) === 'drift');
      await printFleet('after the edit');
      await until('the alert', async () => alerts.some((a) => a.type === 'drift.detected'));
      const alert = alerts.find((a) => a.type === 'drift.detected')!;
      console.log(
        `  webhook: ${bold('ConfigurationDrift')} (drift.detected) for ${alert.node_id}, Plumbline-Signature ${alert.verified ? 'verified' : 'INVALID'}`,
      );
      if (!alert.verified) throw new Error('the webhook signature did not verify');
      await until('the audit event', async () =>
        readFileSync(join(out, 'audit.jsonl'), 'utf8').includes('drift'),
      );
      const audit = readFileSync(join(out, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const drift = audit.find(
        (e) => JSON.stringify(e).includes('drift') && JSON.stringify(e).includes('gw-3'),
      );
      console.log(
        `  audit: ${String(drift?.type ?? drift?.action ?? 'event')} written to ${show(join(out, 'audit.jsonl'))} (${audit.length} events so far)`,
      );
    },
  ],
  [
    'Roll out v2 with a deadline',
    async () => {
      const edited = join(out, 'gateway-config-v2');
      cpSync(fixtures, edited, { recursive: true });
      const routes = join(edited, 'routes.json');
      writeFileSync(routes, readFileSync(routes, 'utf8').replace('"retries": 2', '"retries": 3'));
      const editedManifest = join(out, 'v2.manifest.json');
      await plumbline(['manifest', edited, ...roles, '--out', editedManifest], { quiet: true });
      await plumbline(['diff', join(out, 'manifest.json'), editedManifest], { expect: 1 });
      const v2 = await sealAndSign(edited, 'v2', COMMIT_V2);
      hashes.v2 = await artifactHashOf(v2);
      await put(`/v1/clusters/${CLUSTER}/desired`, {
        artifact_hash: hashes.v2,
        deadline_seconds: 30,
        reason: 'release v2: more retries for users',
      });
      await printFleet('after PUT desired v2 (deadline 30 s)');
      for (const node of ['gw-1', 'gw-2']) {
        await gateways.get(node)!.close();
        await startEmbedded(node, deploy(v2, node));
      }
      deploy(v2, 'gw-3');
      await agent!.check();
      await until('v2 everywhere', async () =>
        (await fleet()).nodes.every((n) => n.state === 'in_sync'),
      );
      await printFleet('after the three nodes restarted on v2');
      await until(
        'rollout.completed',
        async () => alerts.some((a) => a.type === 'rollout.completed'),
        5_000,
      ).catch(() => undefined);
      const types = [...new Set(alerts.map((a) => a.type))];
      console.log(
        `  webhook deliveries: ${alerts.length}, all signatures verified: ${alerts.every((a) => a.verified)} (${types.join(', ')})`,
      );
    },
  ],
  [
    'Change a gateway through its own admin API (live-configuration probe → ConfigurationDrift)',
    async () => {
      console.log(
        'The agent can also ask the gateway what it runs now (`plumbline agent --probe`):',
      );
      console.log("here Caddy's running JSON configuration, from its admin API `GET /config/`.");
      const dir = join(out, 'nodes', EDGE.node);
      mkdirSync(dir, { recursive: true });
      const config = await startEdgeGateway(dir);
      // The build seals the configuration Caddy should run (its JSON is the artifact's payload).
      const artifact = join(out, 'edge-v1.plb');
      await plumbline(
        [
          'seal',
          '--inputs',
          dir,
          '--payload',
          join(dir, 'caddy.json'),
          '--media-type',
          'application/json',
          '--out',
          artifact,
          '--commit',
          COMMIT_V1,
          '--source',
          'https://github.com/acme/edge-config',
          '--builder-id',
          'acme-edge-build',
          '--builder-version',
          '1.0.0',
        ],
        { quiet: true, env: EPOCH },
      );
      await plumbline(
        ['sign', artifact, '--key', join(out, 'keys', 'release.key.pem'), '--attach', '--no-tlog'],
        { quiet: true },
      );
      await put(`/v1/clusters/${EDGE.cluster}/desired`, {
        artifact_hash: await artifactHashOf(artifact),
        reason: 'edge release v1',
      });
      const tokenFile = join(out, 'nodes', `${EDGE.node}.token`);
      writeFileSync(tokenFile, `${nodeTokens[EDGE.node]}\n`, { mode: 0o600 });
      edgeAgent = await startAgent({
        artifact,
        controlPlane: controlPlane!.wsUrl,
        nodeId: EDGE.node,
        cluster: EDGE.cluster,
        tokenFile,
        heartbeatIntervalMs: 500,
        policy: policy!,
        probe: createCaddyProbe({ url: edgeGateway!.admin }),
        logOutput: {
          write: (line: string) =>
            writeFileSync(join(out, `agent-${EDGE.node}.log`), line, { flag: 'a' }),
        },
      });
      const edge = async () => (await fleet()).nodes.find((n) => n.node_id === EDGE.node);
      await until('edge-1 in sync', async () => (await edge())?.state === 'in_sync');
      console.log(`  ${EDGE.node}: in_sync (the live configuration is the sealed one)`);

      console.log(
        `Someone changes the route by hand: ${bold('POST /load')} to the admin API, no build, no commit.`,
      );
      const changed = structuredClone(config) as ReturnType<typeof caddyConfig> & {
        apps: { http: { servers: { main: { routes: { handle: { body: string }[] }[] } } } };
      };
      changed.apps.http.servers.main.routes[0]!.handle[0]!.body = 'changed by hand';
      const load = async (body: unknown): Promise<void> => {
        const response = await fetch(`${edgeGateway!.admin}/load`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (!response.ok) throw new Error(`POST /load answered ${response.status}`);
      };
      await load(changed);
      await until('edge-1 drift', async () => (await edge())?.state === 'drift');
      const differences = (await edge())?.live_config?.differences ?? [];
      console.log(
        `  ${EDGE.node}: ${colour ? '\u001b[31mdrift\u001b[0m' : 'drift'}: running config changed out of band at ${differences.join(', ')}`,
      );
      await until('the edge alert', async () =>
        alerts.some((a) => a.type === 'drift.detected' && a.node_id === EDGE.node),
      );
      const alert = alerts.find((a) => a.type === 'drift.detected' && a.node_id === EDGE.node)!;
      const live = alert.body.live_config as { differences?: string[] } | undefined;
      console.log(
        `  webhook: ${bold('ConfigurationDrift')} (drift.detected) for ${EDGE.node} at ${(live?.differences ?? []).join(', ')}, Plumbline-Signature ${alert.verified ? 'verified' : 'INVALID'}`,
      );
      if (!alert.verified) throw new Error('the webhook signature did not verify');
      console.log(
        'The change is rolled back through the admin API (POST /load of the sealed JSON).',
      );
      await load(config);
      await until('edge-1 in sync again', async () => (await edge())?.state === 'in_sync');
      console.log(`  ${EDGE.node}: in_sync again`);
    },
  ],
];

async function shutdown(): Promise<void> {
  for (const gateway of gateways.values()) await gateway.close();
  gateways.clear();
  await agent?.close();
  await edgeAgent?.close();
  await edgeGateway?.close();
  await controlPlane?.close();
  if (receiver) {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver!.close(() => resolve()));
  }
}

/** Waits for Enter on stdin, or SIGINT/SIGTERM, with the fleet and the dashboard still up. */
async function holdOpen(): Promise<void> {
  console.log(
    `\n${bold('The fleet is still up.')} Dashboard: ${controlPlane!.adminUrl}/ui/ (sign in with the admin token above).`,
  );
  console.log('Press Enter (or Ctrl-C) to shut everything down.');
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.stdin.off('data', onData);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      process.stdin.destroy();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      if (chunk.includes(0x0a) || chunk.includes(0x0d)) done();
    };
    process.stdin.on('data', onData);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

let n = 0;
const started = Date.now();
try {
  for (const [title, run] of STEPS) {
    console.log(`\n${bold(`${++n}. ${title}`)}`);
    await run();
  }
  const storyTime = ((Date.now() - started) / 1000).toFixed(1);
  if (keepOpen) await holdOpen();
  console.log(`\n${bold(`${++n}. Shut everything down`)}`);
  await shutdown();
  const audit = readFileSync(join(out, 'audit.jsonl'), 'utf8').trim().split('\n').length;
  console.log(
    `  gateways, agent, control plane and receiver closed; ${audit} audit events in ${show(join(out, 'audit.jsonl'))}`,
  );
  console.log(`\n${bold('Done')}: the story took ${storyTime} s. Outputs are in ${show(out)}/.`);
} catch (error) {
  console.error(`\nplumbline demo failed: ${(error as Error).message}`);
  await shutdown().catch(() => undefined);
  process.exitCode = 1;
}
