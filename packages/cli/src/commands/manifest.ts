import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { InputRole, Manifest } from '@plumbline/core/manifest';
import type { ManifestProgress } from '@plumbline/core/node';
// The narrow entry: building and writing a manifest loads no schema library (fast start-up).
import {
  buildManifest,
  buildManifestRoot,
  PlumblineError,
  serializeBuiltManifest,
} from '@plumbline/core/internal/cli-manifest';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';
import { ProgressBar } from '../progress-bar.js';

interface ManifestOptions {
  base?: string;
  include?: string[];
  exclude?: string[];
  role?: string[];
  followSymlinks: boolean;
  allowCaseCollisions?: boolean;
  concurrency?: string;
  json?: boolean;
  out?: string;
}

const ROLES = new Set<string>(['spec', 'config', 'plugin', 'other']);

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses `--role GLOB=ROLE` values in order (the first matching glob wins). @internal */
export function parseRoles(values: readonly string[]): (readonly [string, InputRole])[] {
  return values.map((value) => {
    const at = value.lastIndexOf('=');
    const glob = at > 0 ? value.slice(0, at) : '';
    const role = at > 0 ? value.slice(at + 1) : '';
    if (glob === '' || !ROLES.has(role)) {
      throw new PlumblineError(
        'PLB_USAGE',
        `--role takes GLOB=ROLE with ROLE one of spec, config, plugin, other (got ${JSON.stringify(value)})`,
      );
    }
    return [glob, role as InputRole] as const;
  });
}

async function action(
  context: CommandContext,
  paths: string[],
  opts: ManifestOptions,
): Promise<void> {
  const { io } = context;
  let concurrency: number | undefined;
  if (opts.concurrency !== undefined) {
    concurrency = Number(opts.concurrency);
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new PlumblineError('PLB_USAGE', '--concurrency takes a positive integer');
    }
  }
  const progress = new ProgressBar(io.stderr);
  const options = {
    cwd: io.cwd,
    ...(opts.base === undefined ? {} : { base: opts.base }),
    include: opts.include ?? [],
    exclude: opts.exclude ?? [],
    roles: parseRoles(opts.role ?? []),
    followSymlinks: opts.followSymlinks,
    caseCollisions: opts.allowCaseCollisions ? ('allow' as const) : ('error' as const),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(io.shutdownSignal ? { signal: io.shutdownSignal } : {}),
    ...(progress.enabled && {
      onProgress: (p: ManifestProgress) =>
        progress.update(
          p.phase === 'walk' ? 'scanning' : 'hashing',
          p.files,
          p.totalFiles,
          p.bytes,
        ),
    }),
  };
  // Printing the root needs no entries: the manifest (and its document) is built only when it is
  // written or printed.
  const wantDocument = opts.out !== undefined || opts.json;
  let result: Manifest | string;
  try {
    result = wantDocument
      ? await buildManifest(paths, options)
      : await buildManifestRoot(paths, options);
  } finally {
    progress.done();
  }
  if (typeof result === 'string') {
    context.print(result);
    return;
  }
  const document = serializeBuiltManifest(result);
  if (opts.out !== undefined) await writeFile(await prepareOutputPath(io.cwd, opts.out), document);
  if (opts.json) io.stdout.write(document);
  else context.print(result.root);
}

/**
 * `plumbline manifest <path...>`: fingerprints a configuration's input files.
 *
 * @internal
 */
export const manifestCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('manifest')
    .description(
      'Fingerprint configuration inputs: print the Merkle root (sha256:…) of the files under <path...>',
    )
    .argument('<path...>', 'input directories and files')
    .option(
      '--base <dir>',
      'directory entry paths are relative to (default: the input directory when there is one, else the current directory)',
    )
    .option('--include <glob>', 'only files whose path matches (repeatable)', collect)
    .option(
      '--exclude <glob>',
      'leave out files whose path matches; "dir/**" skips a directory (repeatable)',
      collect,
      [],
    )
    .option(
      '--role <glob=role>',
      'role of matching files: spec, config, plugin or other; first match wins (repeatable)',
      collect,
      [],
    )
    .option(
      '--no-follow-symlinks',
      'refuse symbolic links instead of hashing their in-base targets',
    )
    .option('--allow-case-collisions', 'accept paths that differ only by case')
    .option('--concurrency <n>', 'large files streamed at once (default 4)')
    .option('--out <file>', 'also write the manifest document (JSON) to <file>')
    .option('--json', 'print the manifest document instead of the root')
    .addHelpText(
      'after',
      `
Examples:
  plumbline manifest gateway/
  plumbline manifest gateway/ --exclude '**/*.md' --role 'specs/**=spec' --role '**/*.wasm=plugin' --out manifest.json
  plumbline manifest specs plugins/auth.wasm --base . --json`,
    )
    .action((paths: string[], opts: ManifestOptions) => action(context, paths, opts));
};
