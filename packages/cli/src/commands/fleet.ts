import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import { readTokenFile } from '@plumbline/ws';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { callFleetApi } from '../control-plane/fleet-client.js';
import { parseDuration } from '../control-plane/parse.js';

interface ApiOptions {
  controlPlane?: string;
  adminTokenFile?: string;
  json?: boolean;
}

interface FleetNode {
  node_id: string;
  cluster: string;
  state: string;
  since: string;
  reported_hash: string | null;
  desired_hash: string | null;
  last_seen: string | null;
}

interface FleetCluster {
  cluster: string;
  desired_hash: string | null;
  rollout: { deadline?: string; status?: string } | null;
  counts: Record<string, number>;
}

const STATE_COLOUR: Readonly<Record<string, string>> = {
  in_sync: '\u001b[32m',
  pending: '\u001b[36m',
  drift: '\u001b[31m',
  rejected: '\u001b[31m',
  stale: '\u001b[33m',
  disconnected: '\u001b[33m',
  never_seen: '\u001b[35m',
  unknown: '\u001b[90m',
};
const RESET = '\u001b[0m';
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

function shortHash(hash: string | null): string {
  return hash === null ? '-' : `${hash.slice(0, 19)}…`;
}

function table(
  rows: readonly string[][],
  colourColumn: number | undefined,
  colour: boolean,
): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row, r) =>
    row
      .map((cell, i) => {
        const padded = i === row.length - 1 ? cell : cell.padEnd(widths[i]!);
        if (colour && r > 0 && i === colourColumn && STATE_COLOUR[cell]) {
          return `${STATE_COLOUR[cell]}${padded}${RESET}`;
        }
        return padded;
      })
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Formats the fleet document as text: one line per cluster, then a table of nodes.
 *
 * @internal
 */
export function formatFleet(
  fleet: { clusters: FleetCluster[]; nodes: FleetNode[] },
  colour: boolean,
): string[] {
  const lines: string[] = [];
  for (const c of fleet.clusters) {
    const counts = Object.entries(c.counts)
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `${state}=${n}`)
      .join(' ');
    const rollout = c.rollout
      ? ` rollout ${c.rollout.status ?? ''} until ${c.rollout.deadline ?? '?'}`
      : '';
    lines.push(
      `cluster ${c.cluster}: desired ${shortHash(c.desired_hash)}${rollout}  ${counts || 'no nodes'}`,
    );
  }
  if (fleet.nodes.length > 0) {
    lines.push('');
    const rows = [['NODE', 'CLUSTER', 'STATE', 'SINCE', 'REPORTED', 'DESIRED', 'LAST SEEN']];
    for (const n of fleet.nodes) {
      rows.push([
        n.node_id,
        n.cluster,
        n.state,
        n.since,
        shortHash(n.reported_hash),
        shortHash(n.desired_hash),
        n.last_seen ?? '-',
      ]);
    }
    lines.push(...table(rows, 2, colour));
  }
  return lines;
}

/**
 * `plumbline fleet`: the fleet as a table (or JSON), and `fleet set-desired` / `fleet
 * expected-nodes` / `fleet node` calling the control plane's fleet API.
 *
 * @internal
 */
export const fleetCommand: CommandModule = (program, context) => {
  const fleet = addApiOptions(
    program
      .command('fleet')
      .description('show the fleet (nodes and their drift state) from a control plane')
      .option(
        '--cluster <cluster>',
        'the cluster (a filter for the table; required by set-desired and expected-nodes)',
      )
      .option('--state <state>', 'only nodes in this state')
      .option('--check', 'exit 1 when a node is in drift or rejected'),
  ).action(async (opts: ApiOptions & { cluster?: string; state?: string; check?: boolean }) => {
    const { baseUrl, token } = await api(context, opts);
    const doc = (await callFleetApi({ baseUrl, token, method: 'GET', path: 'v1/fleet' })) as {
      clusters: FleetCluster[];
      nodes: FleetNode[];
    };
    const nodes = doc.nodes.filter(
      (n) =>
        (!opts.cluster || n.cluster === opts.cluster) && (!opts.state || n.state === opts.state),
    );
    const clusters = doc.clusters.filter((c) => !opts.cluster || c.cluster === opts.cluster);
    if (opts.json) context.printJson({ clusters, nodes });
    else {
      const colour = context.io.stdout.isTTY === true && context.io.env['NO_COLOR'] === undefined;
      for (const line of formatFleet({ clusters, nodes }, colour)) context.print(line);
    }
    if (opts.check && nodes.some((n) => BAD_STATES.has(n.state)))
      context.exit(ExitCode.CheckFailed);
  });

  // Subcommands share the options of `fleet` (--control-plane, --admin-token-file, --json, --cluster).
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
      else {
        for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
          context.print(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
        }
      }
    });

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
};
