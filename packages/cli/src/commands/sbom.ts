import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import { readHeaderOrUnverified } from './artifact-header.js';
import {
  DEFAULT_SPEC_VERSION,
  mergeInto,
  parseFormat,
  parseSpecVersion,
  SUPPORTED_SPEC_VERSIONS,
  toCycloneDX,
  validateBom,
} from '@plumbline/cyclonedx';
import { writeFileAtomic } from '@plumbline/core/node';
import type { CommandContext, CommandModule } from '../context.js';
import { prepareOutputPath } from '../output-path.js';

interface SbomOptions {
  format?: string;
  specVersion?: string;
  mergeInto?: string;
  out?: string;
}

const MAX_BOM_BYTES = 64 * 1024 * 1024;

/**
 * `plumbline sbom <artifact> [--format json|xml] [--spec-version 1.6] [--merge-into BOM] [--out FILE]`.
 *
 * @internal
 */
export const sbomCommand: CommandModule = (program: Command, context: CommandContext) => {
  program
    .command('sbom')
    .description(
      'Write a CycloneDX SBOM for an artifact, or merge its components into an image SBOM',
    )
    .argument('<artifact>', 'the sealed artifact (a container or a sealed Barbacane .bca)')
    .option('--format <format>', 'json or xml', 'json')
    .option(
      '--spec-version <version>',
      `CycloneDX version: ${SUPPORTED_SPEC_VERSIONS.join(', ')}`,
      DEFAULT_SPEC_VERSION,
    )
    .option(
      '--merge-into <bom>',
      'an existing JSON CycloneDX BOM (syft, cdxgen) to add the configuration to',
    )
    .option('--out <file>', 'write to this file (atomically) instead of stdout')
    .addHelpText(
      'after',
      `
The SBOM is deterministic: the same artifact always gives the same bytes. It is validated against
the CycloneDX schema before it is written (XML with xmllint, from libxml2-utils, when present).

Examples:
  plumbline sbom dist/gateway.plb --out gateway.cdx.json
  plumbline sbom dist/gateway.plb --format xml --spec-version 1.7
  syft oci-dir:image -o cyclonedx-json=image.cdx.json
  plumbline sbom dist/gateway.plb --merge-into image.cdx.json --out image.cdx.json`,
    )
    .action(async (artifact: string, opts: SbomOptions, command: Command) => {
      const { io } = context;
      const format = parseFormat(opts.format ?? 'json');
      const specVersion = parseSpecVersion(opts.specVersion ?? DEFAULT_SPEC_VERSION);
      // Merging keeps the existing BOM's version unless --spec-version names one explicitly.
      const explicitVersion = command.getOptionValueSource('specVersion') === 'cli';
      if (opts.mergeInto !== undefined && format !== 'json') {
        throw new PlumblineError('PLB_USAGE', '--merge-into writes JSON; drop --format xml', {
          details: {},
        });
      }
      const artifactPath = resolve(io.cwd, artifact);
      const info = await readHeaderOrUnverified(context, artifact, { artifactDigest: true });
      if (info === undefined) return;
      const size = (await stat(artifactPath)).size;
      const build = {
        artifact: { name: basename(artifactPath), digest: info.artifactDigest!, size },
        headerDigest: info.headerDigest,
      };
      let text: string;
      if (opts.mergeInto !== undefined) {
        const bomPath = resolve(io.cwd, opts.mergeInto);
        const bomSize = (await stat(bomPath)).size;
        if (bomSize > MAX_BOM_BYTES) {
          throw new PlumblineError(
            'PLB_SBOM_LIMIT',
            `${opts.mergeInto} has ${bomSize} bytes, over the limit of ${MAX_BOM_BYTES}`,
            { details: { size: bomSize, limit: MAX_BOM_BYTES } },
          );
        }
        text = await mergeInto(await readFile(bomPath, 'utf8'), info.header, {
          ...build,
          ...(explicitVersion ? { specVersion } : {}),
          validate: true,
          maxBomBytes: MAX_BOM_BYTES,
        });
      } else {
        text = await toCycloneDX(info.header, { ...build, format, specVersion });
        try {
          await validateBom(text, { format, specVersion });
        } catch (error) {
          if (!PlumblineError.is(error, 'PLB_SBOM_VALIDATOR_UNAVAILABLE')) throw error;
          context.note(`plumbline: warning: ${error.message}; the SBOM was not schema-validated`);
        }
      }
      if (opts.out !== undefined) {
        await writeFileAtomic(await prepareOutputPath(io.cwd, opts.out), text);
        context.note(
          `wrote ${opts.out} (CycloneDX ${specVersion} ${format}, ${Buffer.byteLength(text)} bytes)`,
        );
      } else {
        io.stdout.write(text);
      }
    });
};
