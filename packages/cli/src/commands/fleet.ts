import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { readTokenFile } from '@plumbline/ws';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { callFleetApi } from '../control-plane/fleet-client.js';
import { parseDuration } from '../control-plane/parse.js';
import { formatFleet, formatNode, type FleetCluster, type FleetNode } from './fleet-format.js';

export { formatFleet } from './fleet-format.js';

interface ApiOptions {
  controlPlane?: string;
  adminTokenFile?: string;
  json?: boolean;
}

const BAD_STATES = new Set(['drift', 'rejected']);

function addApiOptions(command: Command): Command {
  return command
    .option('--control-plane <url>', 'admin URL of the control plane (env PLUMBLINE_ADMIN_URL)')
    .option(
      '--admin-token-file <file>',
      'file holding the admin token (env PLUMBLINE_ADMIN_TOKEN_FILE)',
    )
    .option('--json', 'print JSON');
}

async function api(
  context: CommandContext,
  opts: ApiOptions,
): Promise<{ baseUrl: string; token: string }> {
  const baseUrl = opts.controlPlane ?? context.io.env['PLUMBLINE_ADMIN_URL'];
  const tokenFile = opts.adminTokenFile ?? context.io.env['PLUMBLINE_ADMIN_TOKEN_FILE'];
  if (!baseUrl)
    throw new PlumblineError(
      'PLB_USAGE',
      '--control-plane <url> (or PLUMBLINE_ADMIN_URL) is required',
    );
  if (!tokenFile) {
    throw new PlumblineError(
      'PLB_USAGE',
      '--admin-token-file <file> (or PLUMBLINE_ADMIN_TOKEN_FILE) is required',
    );
  }
  return { baseUrl, token: await readTokenFile(tokenFile) };
}

function requireCluster(cluster: string | undefined, command: string): string {
  if (!cluster) {
    throw new PlumblineError(
      'PLB_USAGE',
      `fleet ${command} needs --cluster <cluster> (the cluster it applies to), e.g. ` +
        `plumbline fleet ${command} --cluster prod-eu …`,
      { details: { missing_option: '--cluster' } },
    );
  }
  return cluster;
}

interface FleetOptions extends ApiOptions {
  cluster?: string;
  state?: string;
  check?: boolean;
  watch?: string | true;
}

/** Fetches and prints the fleet once (a redraw under --watch on a terminal). */
async function showFleet(context: CommandContext, opts: FleetOptions, watching: boolean) {
  const { baseUrl, token } = await api(context, opts);
  const doc = (await callFleetApi({ baseUrl, token, method: 'GET', path: 'v1/fleet' })) as {
    clusters: FleetCluster[];
    nodes: FleetNode[];
  };
  const nodes = doc.nodes.filter(
    (n) => (!opts.cluster || n.cluster === opts.cluster) && (!opts.state || n.state === opts.state),
  );
  const clusters = doc.clusters.filter((c) => !opts.cluster || c.cluster === opts.cluster);
  const { stdout } = context.io;
  if (opts.json) {
    if (watching) stdout.write(`${JSON.stringify({ clusters, nodes })}\n`);
    else context.printJson({ clusters, nodes });
  } else {
    const colour = stdout.isTTY === true && context.io.env['NO_COLOR'] === undefined;
    // On a terminal the table is redrawn in place; elsewhere each refresh follows the last.
    if (watching && stdout.isTTY === true) stdout.write('\u001b[H\u001b[2J');
    else if (watching) context.print(`--- ${new Date().toISOString()}`);
    for (const line of formatFleet({ clusters, nodes }, colour)) context.print(line);
  }
  if (opts.check && nodes.some((n) => BAD_STATES.has(n.state))) context.exit(ExitCode.CheckFailed);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `plumbline fleet` itself: the table (or JSON), once or under `--watch`. */
function fleetShowCommand(program: Command, context: CommandContext): Command {
  return addApiOptions(
    program
      .command('fleet')
      .description('show the fleet (nodes and their drift state) from a control plane')
      .option(
        '--cluster <cluster>',
        'the cluster (a filter for the table; required by set-desired and expected-nodes)',
      )
      .option('--state <state>', 'only nodes in this state')
      .option('--check', 'exit 1 when a node is in drift or rejected')
      .option(
        '--watch [interval]',
        'redraw the table every interval (default 2s) until interrupted; with --json one line per refresh',
      )
      .addHelpText(
        'after',
        `
AGE is how long each node has been in its state; WHY says what put it there (the load error and
verification code it reported, the artifact it runs instead of the desired one, how long it has
been silent).

Examples:
  export PLUMBLINE_ADMIN_URL=http://127.0.0.1:9090 PLUMBLINE_ADMIN_TOKEN_FILE=admin.token
  plumbline fleet --cluster prod-eu --watch
  plumbline fleet --check --json > fleet.json          # exit 1 when a node drifts or rejected its artifact
  plumbline fleet node gw-1
  plumbline fleet set-desired --cluster prod-eu --artifact-hash sha256:… --deadline 10m --reason "release 42"
  plumbline fleet expected-nodes --cluster prod-eu gw-1 gw-2 gw-3`,
      ),
  ).action(async (opts: FleetOptions) => {
    if (opts.watch === undefined) {
      await showFleet(context, opts, false);
      return;
    }
    const intervalMs = opts.watch === true ? 2000 : parseDuration(opts.watch, '--watch');
    const signal = context.io.shutdownSignal;
    while (signal?.aborted !== true) {
      await showFleet(context, opts, true);
      await sleep(intervalMs, signal);
    }
  });
}

/** `plumbline fleet node <node_id>`. */
function fleetNodeCommand(fleet: Command, context: CommandContext): void {
  fleet
    .command('node <node_id>')
    .description("show one node's detail")
    .action(async (nodeId: string, _opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<ApiOptions>();
      const { baseUrl, token } = await api(context, opts);
      const node = await callFleetApi({
        baseUrl,
        token,
        method: 'GET',
        path: `v1/fleet/nodes/${encodeURIComponent(nodeId)}`,
      }).catch((error: unknown) => {
        if (PlumblineError.is(error) && error.code === 'PLB_FLEET_NODE_UNKNOWN') {
          throw new PlumblineError(
            'PLB_FLEET_NODE_UNKNOWN',
            `the control plane knows no node ${JSON.stringify(nodeId)}: a node appears once it ` +
              'connects or is listed with `plumbline fleet expected-nodes`; `plumbline fleet` lists them',
            { cause: error, details: { node_id: nodeId } },
          );
        }
        throw error;
      });
      if (opts.json) context.printJson(node);
      else for (const line of formatNode(node as Record<string, unknown>)) context.print(line);
    });
}

/** `plumbline fleet set-desired`. */
function fleetSetDesiredCommand(fleet: Command, context: CommandContext): void {
  fleet
    .command('set-desired')
    .description('set the artifact a cluster should run (with --cluster)')
    .requiredOption('--artifact-hash <digest>', 'sha256:… of the artifact')
    .requiredOption('--reason <text>', 'why (recorded with the change)')
    .option(
      '--deadline <duration>',
      'rollout window, e.g. 10m: until then the previous hash is pending, not drift',
    )
    .action(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<
        ApiOptions & { cluster?: string; artifactHash: string; reason: string; deadline?: string }
      >();
      const cluster = requireCluster(opts.cluster, 'set-desired');
      if (!/^sha256:[0-9a-f]{64}$/.test(opts.artifactHash)) {
        throw new PlumblineError(
          'PLB_INVALID_DIGEST',
          '--artifact-hash must be sha256: followed by 64 lowercase hex',
        );
      }
      const deadlineSeconds =
        opts.deadline === undefined
          ? undefined
          : Math.ceil(parseDuration(opts.deadline, '--deadline') / 1000);
      const { baseUrl, token } = await api(context, opts);
      const result = await callFleetApi({
        baseUrl,
        token,
        method: 'PUT',
        path: `v1/clusters/${encodeURIComponent(cluster)}/desired`,
        body: {
          artifact_hash: opts.artifactHash,
          ...(deadlineSeconds === undefined ? {} : { deadline_seconds: deadlineSeconds }),
          reason: opts.reason,
        },
      });
      if (opts.json) context.printJson(result);
      else {
        const r = result as { cluster?: string; version?: number; artifact_hash?: string };
        context.print(
          `cluster ${r.cluster ?? cluster}: desired ${r.artifact_hash ?? opts.artifactHash} (version ${r.version ?? '?'})`,
        );
      }
    });
}

/** `plumbline fleet expected-nodes`. */
function fleetExpectedNodesCommand(fleet: Command, context: CommandContext): void {
  fleet
    .command('expected-nodes')
    .description('set the nodes a cluster is expected to have (with --cluster)')
    .argument('[node_ids...]', 'node ids (none clears the inventory)')
    .action(async (nodeIds: string[], _opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<ApiOptions & { cluster?: string }>();
      const cluster = requireCluster(opts.cluster, 'expected-nodes');
      const { baseUrl, token } = await api(context, opts);
      const result = await callFleetApi({
        baseUrl,
        token,
        method: 'PUT',
        path: `v1/clusters/${encodeURIComponent(cluster)}/expected-nodes`,
        body: { nodes: nodeIds },
      });
      if (opts.json) context.printJson(result);
      else context.print(`cluster ${cluster}: ${nodeIds.length} expected node(s)`);
    });
}

/**
 * `plumbline fleet`: the fleet as a table (or JSON), and `fleet set-desired` / `fleet
 * expected-nodes` / `fleet node` calling the control plane's fleet API.
 *
 * @internal
 */
export const fleetCommand: CommandModule = (program, context) => {
  const fleet = fleetShowCommand(program, context);
  // Subcommands share the options of `fleet` (--control-plane, --admin-token-file, --json, --cluster).
  fleetNodeCommand(fleet, context);
  fleetSetDesiredCommand(fleet, context);
  fleetExpectedNodesCommand(fleet, context);
};
