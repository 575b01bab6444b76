import type { Command } from 'commander';
import type { HeaderValue } from '@plumbline/core/header';
import type { ManifestProgress } from '@plumbline/core/node';
// The narrow entry: only what sealing uses is loaded (fast start-up).
import {
  buildManifest,
  PlumblineError,
  SDK_VERSION,
  sealArtifactFile,
} from '@plumbline/core/internal/cli-seal';
import { resolve } from 'node:path';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';
import { parseRoles } from './manifest.js';
import { ProgressBar } from '../progress-bar.js';

interface SealOptions {
  inputs: string[];
  payload: string;
  out: string;
  base?: string;
  commit?: string;
  source?: string;
  ref?: string;
  builderId?: string;
  builderVersion?: string;
  buildUrl?: string;
  extension?: string[];
  role?: string[];
  mediaType?: string;
  json?: boolean;
}

/**
 * Provenance found in flags and CI environment variables, and where each value came from.
 *
 * @internal
 */
export interface DetectedProvenance {
  readonly commit?: string;
  readonly source?: string;
  readonly ref?: string;
  readonly build_url?: string;
  /** `field from VARIABLE` notes for the values taken from the environment. */
  readonly notes: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Fills provenance from CI variables where flags are absent: GitHub Actions (`GITHUB_SHA`,
 * `GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`, `GITHUB_REF`, run URL), GitLab CI (`CI_COMMIT_SHA`,
 * `CI_PROJECT_URL`, `CI_COMMIT_REF_NAME`, `CI_JOB_URL`), Buildkite and CircleCI (commit, branch,
 * build URL). Flags always win.
 *
 * @internal
 */
export function detectProvenance(
  flags: { commit?: string; source?: string; ref?: string; buildUrl?: string },
  env: Env,
): DetectedProvenance {
  const notes: string[] = [];
  const pick = (
    field: string,
    flag: string | undefined,
    candidates: readonly (readonly [string, () => string | undefined])[],
  ): string | undefined => {
    if (flag !== undefined) return flag;
    for (const [name, read] of candidates) {
      const value = read();
      if (value !== undefined && value !== '') {
        notes.push(`${field} from ${name}`);
        return value;
      }
    }
    return undefined;
  };
  const v = (name: string) => () => env[name];
  const github = env['GITHUB_SERVER_URL'] && env['GITHUB_REPOSITORY'];
  const commit = pick('commit', flags.commit, [
    ['GITHUB_SHA', v('GITHUB_SHA')],
    ['CI_COMMIT_SHA', v('CI_COMMIT_SHA')],
    ['BUILDKITE_COMMIT', v('BUILDKITE_COMMIT')],
    ['CIRCLE_SHA1', v('CIRCLE_SHA1')],
  ]);
  const source = pick('source', flags.source, [
    [
      'GITHUB_SERVER_URL/GITHUB_REPOSITORY',
      () => (github ? `${env['GITHUB_SERVER_URL']}/${env['GITHUB_REPOSITORY']}` : undefined),
    ],
    ['CI_PROJECT_URL', v('CI_PROJECT_URL')],
  ]);
  const ref = pick('ref', flags.ref, [
    ['GITHUB_REF', v('GITHUB_REF')],
    ['CI_COMMIT_REF_NAME', v('CI_COMMIT_REF_NAME')],
    ['BUILDKITE_BRANCH', v('BUILDKITE_BRANCH')],
    ['CIRCLE_BRANCH', v('CIRCLE_BRANCH')],
  ]);
  const buildUrl = pick('build_url', flags.buildUrl, [
    [
      'GITHUB_SERVER_URL/GITHUB_REPOSITORY/GITHUB_RUN_ID',
      () =>
        github && env['GITHUB_RUN_ID']
          ? `${env['GITHUB_SERVER_URL']}/${env['GITHUB_REPOSITORY']}/actions/runs/${env['GITHUB_RUN_ID']}`
          : undefined,
    ],
    ['CI_JOB_URL', v('CI_JOB_URL')],
    ['BUILDKITE_BUILD_URL', v('BUILDKITE_BUILD_URL')],
    ['CIRCLE_BUILD_URL', v('CIRCLE_BUILD_URL')],
  ]);
  return {
    ...(commit === undefined ? {} : { commit }),
    ...(source === undefined ? {} : { source }),
    ...(ref === undefined ? {} : { ref }),
    ...(buildUrl === undefined ? {} : { build_url: buildUrl }),
    notes,
  };
}

/**
 * Parses `--extension KEY=VALUE`: VALUE is JSON when it parses as JSON without floats (numbers,
 * booleans, null, arrays, objects), otherwise a string.
 *
 * @internal
 */
export function parseExtensions(values: readonly string[]): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  for (const item of values) {
    const at = item.indexOf('=');
    if (at <= 0) {
      throw new PlumblineError(
        'PLB_USAGE',
        `--extension takes KEY=VALUE (got ${JSON.stringify(item)})`,
      );
    }
    const key = item.slice(0, at);
    const text = item.slice(at + 1);
    let value: HeaderValue = text;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (
        typeof parsed !== 'string' &&
        !(typeof parsed === 'number' && !Number.isSafeInteger(parsed))
      ) {
        value = parsed as HeaderValue;
      }
    } catch {
      value = text;
    }
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Printed when a seal has no commit (no `--commit` and no CI variable): the artifact seals, but a
 * data plane whose load policy sets `requireCommit` refuses to load it.
 *
 * @internal
 */
export const MISSING_COMMIT_WARNING =
  'plumbline: warning: no --commit and no CI commit variable: the artifact has no commit, and a ' +
  'data plane that requires one (requireCommit) will refuse it; pass --commit "$(git rev-parse HEAD)"';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function action(context: CommandContext, opts: SealOptions): Promise<void> {
  const { io } = context;
  const detected = detectProvenance(opts, io.env);
  if (detected.notes.length > 0) context.note(`plumbline: note: ${detected.notes.join(', ')}`);
  const epoch = io.env['SOURCE_DATE_EPOCH'];
  if (epoch !== undefined && epoch !== '')
    context.note('plumbline: note: build_timestamp from SOURCE_DATE_EPOCH');
  const progress = new ProgressBar(io.stderr);
  try {
    return await sealWithProgress(context, opts, detected, epoch, progress);
  } finally {
    progress.done();
  }
}

async function sealWithProgress(
  context: CommandContext,
  opts: SealOptions,
  detected: DetectedProvenance,
  epoch: string | undefined,
  progress: ProgressBar,
): Promise<void> {
  const { io } = context;
  const signal = io.shutdownSignal;
  progress.phase('hashing inputs');
  const manifest = await buildManifest(opts.inputs, {
    cwd: io.cwd,
    ...(opts.base === undefined ? {} : { base: opts.base }),
    roles: parseRoles(opts.role ?? []),
    ...(signal ? { signal } : {}),
    ...(progress.enabled && {
      onProgress: (p: ManifestProgress) =>
        progress.update('hashing inputs', p.files, p.totalFiles, p.bytes),
    }),
  });
  progress.phase(`sealing ${opts.out}`);
  const { notes: _notes, ...provenance } = detected;
  const result = await sealArtifactFile({
    manifest,
    provenance: {
      ...provenance,
      builder: {
        id: opts.builderId ?? '@plumbline/cli',
        version: opts.builderVersion ?? SDK_VERSION,
      },
    },
    extensions: parseExtensions(opts.extension ?? []),
    sourceDateEpoch: epoch === undefined || epoch === '' ? null : epoch,
    ...(opts.mediaType === undefined ? {} : { mediaType: opts.mediaType }),
    payload: resolve(io.cwd, opts.payload),
    out: await prepareOutputPath(io.cwd, opts.out),
    artifactDigest: true,
    ...(signal ? { signal } : {}),
  });
  const { header } = result;
  progress.done();
  if (detected.commit === undefined) context.note(MISSING_COMMIT_WARNING);
  if (opts.json) {
    context.printJson({
      out: opts.out,
      artifact_hash: header.artifact_hash,
      header_digest: result.headerDigest,
      artifact_digest: result.artifactDigest,
      build_timestamp: header.build_timestamp,
      provenance: header.provenance,
      payload: header.payload,
      inputs: header.inputs.length,
      size: result.size,
    });
    return;
  }
  context.print(`sealed ${opts.out}`);
  context.print(`artifact_hash    ${header.artifact_hash}`);
  context.print(`header_digest    ${result.headerDigest}`);
  context.print(`artifact_digest  ${result.artifactDigest}`);
  context.print(`payload          ${header.payload.size} bytes  ${header.payload.digest}`);
  context.print(`inputs           ${header.inputs.length}`);
}

/**
 * `plumbline seal`: stamps a compiled payload with the provenance header of its inputs.
 *
 * @internal
 */
export const sealCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('seal')
    .description(
      'Seal a compiled payload and the fingerprint of its inputs into an artifact container',
    )
    .requiredOption('--inputs <path...>', 'input directories and files of the configuration')
    .requiredOption('--payload <file>', "the gateway's compiled bytes")
    .requiredOption('--out <file>', 'the artifact container to write')
    .option('--base <dir>', 'directory input paths are relative to (as in plumbline manifest)')
    .option('--commit <sha>', 'git commit (40 or 64 hex); default from CI variables')
    .option('--source <url>', 'repository URL or owner/repo; default from CI variables')
    .option('--ref <ref>', 'git ref, e.g. refs/heads/main; default from CI variables')
    .option('--builder-id <id>', 'builder identity (default @plumbline/cli)')
    .option('--builder-version <v>', 'builder version (default the CLI version)')
    .option('--build-url <url>', 'link to the build; default from CI variables')
    .option(
      '--extension <key=value>',
      'reverse-DNS extension field, VALUE as JSON or text (repeatable)',
      collect,
    )
    .option(
      '--role <glob=role>',
      'role of matching inputs: spec, config, plugin or other (repeatable)',
      collect,
    )
    .option('--media-type <type>', 'media type of the payload (default application/octet-stream)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
When --commit, --source, --ref or --build-url are absent they come from CI variables (GitHub Actions:
GITHUB_SHA, GITHUB_SERVER_URL/GITHUB_REPOSITORY, GITHUB_REF, GITHUB_RUN_ID; GitLab CI: CI_COMMIT_SHA,
CI_PROJECT_URL, CI_COMMIT_REF_NAME, CI_JOB_URL; Buildkite; CircleCI); a note on stderr says which.
SOURCE_DATE_EPOCH sets the build time, so equal inputs seal to byte-identical artifacts.

Example:
  plumbline seal --inputs config/ --payload dist/gateway.bin --out dist/gateway.plb \\
    --extension com.example.gateway.tier=edge`,
    )
    .action((opts: SealOptions) => action(context, opts));
};
