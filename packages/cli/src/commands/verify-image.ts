import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import { readHeader } from '@plumbline/core/node';
import { verifyImage, type VerifyImageResult } from '@plumbline/oci';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { ProgressBar } from '../progress-bar.js';

interface VerifyImageCliOptions {
  artifact: string;
  pathInImage?: string;
  maxDecompressedBytes?: string;
  maxDecompressionRatio?: string;
  json?: boolean;
}

/** A positive integer, with an optional binary suffix for sizes (`512MiB`, `64GiB`). */
function parseBudget(flag: string, text: string, sizes: boolean): number {
  const m = /^([1-9][0-9]{0,15})(KiB|MiB|GiB|TiB)?$/.exec(text);
  if (m === null || (!sizes && m[2] !== undefined)) {
    throw new PlumblineError(
      'PLB_USAGE',
      `${flag} takes a positive integer${sizes ? ' (with an optional KiB, MiB, GiB or TiB)' : ''}`,
    );
  }
  const unit = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }[m[2] ?? ''] ?? 1;
  const value = Number(m[1]) * unit;
  if (!Number.isSafeInteger(value)) throw new PlumblineError('PLB_USAGE', `${flag} is too large`);
  return value;
}

/** Integrity failures of the image itself: a failed check (exit 1), not an input error. */
const INTEGRITY_CODES = new Set([
  'PLB_OCI_DIGEST_MISMATCH',
  'PLB_OCI_SIZE_MISMATCH',
  'PLB_OCI_DIFFID_MISMATCH',
]);

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Splits `<layout>[:ref]`: the whole argument when it is a directory, otherwise the shortest
 * prefix before a `:` that is a directory (so refs may contain `:`, as digests do).
 *
 * @internal
 */
export async function splitLayoutRef(
  cwd: string,
  argument: string,
): Promise<{ layout: string; ref?: string }> {
  if (await isDirectory(resolve(cwd, argument))) return { layout: resolve(cwd, argument) };
  for (let i = argument.indexOf(':'); i > 0; i = argument.indexOf(':', i + 1)) {
    const layout = resolve(cwd, argument.slice(0, i));
    if (await isDirectory(layout)) {
      const ref = argument.slice(i + 1);
      return ref === '' ? { layout } : { layout, ref };
    }
  }
  return { layout: resolve(cwd, argument) };
}

function printResult(context: CommandContext, result: VerifyImageResult): void {
  context.print(`image: ${result.manifest.digest}${result.refName ? ` (${result.refName})` : ''}`);
  for (const check of result.checks) {
    const mark = check.status === 'match' ? 'ok' : check.status === 'absent' ? '--' : 'FAIL';
    const detail =
      check.status === 'match'
        ? check.expected
        : check.status === 'absent'
          ? 'not set'
          : `${check.actual ?? 'missing'} (expected ${check.expected})`;
    context.print(`${mark.padEnd(4)} label ${check.key}: ${detail}`);
  }
  if (result.file) {
    const f = result.file;
    const mark = f.status === 'match' ? 'ok' : 'FAIL';
    const detail =
      f.status === 'match'
        ? `${f.actual!.digest} (${f.actual!.size} bytes)`
        : f.status === 'mismatch'
          ? `${f.actual!.digest} (${f.actual!.size} bytes), expected ${f.expected.digest} (${f.expected.size} bytes)`
          : f.status;
    context.print(`${mark.padEnd(4)} file ${f.path}: ${detail}`);
  }
  context.print(
    result.ok
      ? `verified: ${result.layers.length} layers, labels match the artifact`
      : `NOT verified: ${result.problems.map((p) => p.code).join(', ')}`,
  );
}

/**
 * `plumbline verify-image <layout>[:ref] --artifact FILE [--path-in-image P] [--json]`.
 *
 * @internal
 */
export const verifyImageCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('verify-image')
    .description(
      'Verify an OCI image layout on disk against an artifact: labels, blob digests, and the artifact file inside the image',
    )
    .argument(
      '<layout>',
      'OCI image layout directory, optionally with :ref (a tag name or manifest digest)',
    )
    .requiredOption('--artifact <file>', 'the sealed artifact the image should carry')
    .option(
      '--path-in-image <path>',
      'where the artifact file sits in the image; checked byte for byte',
    )
    .option(
      '--max-decompressed-bytes <size>',
      "most bytes the image's layers may decompress to together (default 512GiB)",
    )
    .option(
      '--max-decompression-ratio <n>',
      'most times a layer may expand over its compressed size, plus 1 MiB (default 2048)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Exit codes: 0 verified, 1 a label or the file differs or a blob was modified, 2 usage or input
error (not a layout, missing blob, malformed JSON), 3 the artifact is a legacy (unsealed) file.

Examples:
  skopeo copy docker://registry.example.com/gateway:1.4 oci:image:1.4
  plumbline verify-image image:1.4 --artifact dist/gateway.plb --path-in-image /etc/gateway/gateway.plb`,
    )
    .action(async (layoutArg: string, opts: VerifyImageCliOptions) => {
      const { io } = context;
      const artifactPath = resolve(io.cwd, opts.artifact);
      let info: Awaited<ReturnType<typeof readHeader>>;
      try {
        info = await readHeader(artifactPath);
      } catch (error) {
        if (PlumblineError.is(error, 'PLB_LEGACY_ARTIFACT')) {
          if (opts.json) {
            context.printJson({
              ok: false,
              unverified: true,
              code: error.code,
              message: error.message,
            });
          } else context.note(`plumbline: ${error.code}: ${opts.artifact}: ${error.message}`);
          context.exit(ExitCode.Unverified);
          return;
        }
        throw error;
      }
      const limits = {
        ...(opts.maxDecompressedBytes === undefined
          ? {}
          : {
              maxUncompressedBytes: parseBudget(
                '--max-decompressed-bytes',
                opts.maxDecompressedBytes,
                true,
              ),
            }),
        ...(opts.maxDecompressionRatio === undefined
          ? {}
          : {
              maxDecompressionRatio: parseBudget(
                '--max-decompression-ratio',
                opts.maxDecompressionRatio,
                false,
              ),
            }),
      };
      const { layout, ref } = await splitLayoutRef(io.cwd, layoutArg);
      let result: VerifyImageResult;
      const progress = new ProgressBar(io.stderr);
      progress.phase(`verifying image ${layoutArg}`);
      try {
        result = await verifyImage({
          layout,
          ...(ref === undefined ? {} : { ref }),
          artifact: { header: info.header, headerDigest: info.headerDigest, file: artifactPath },
          ...(opts.pathInImage === undefined ? {} : { pathInImage: opts.pathInImage }),
          limits,
          ...(io.shutdownSignal ? { signal: io.shutdownSignal } : {}),
        });
        progress.done();
      } catch (error) {
        progress.done();
        if (PlumblineError.is(error) && INTEGRITY_CODES.has(error.code)) {
          if (opts.json) {
            context.printJson({
              ok: false,
              code: error.code,
              message: error.message,
              details: error.details,
            });
          } else context.note(`plumbline: ${error.code}: ${error.message}`);
          context.exit(ExitCode.CheckFailed);
          return;
        }
        throw error;
      }
      if (opts.json) context.printJson(result);
      else printResult(context, result);
      if (!result.ok) context.exit(ExitCode.CheckFailed);
    });
};
