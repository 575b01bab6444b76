import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PlumblineError } from '@plumbline/core';
import {
  buildProvenanceStatement,
  type SlsaProvenance,
  type Statement,
} from '@plumbline/core/attest';
import type { DigestString } from '@plumbline/core/hash';
import { readHeader } from '@plumbline/core/node';
import type { ArtifactHeaderInfo } from '@plumbline/core/container';

/** Flags shared by `attest` and `sign` that shape the provenance statement. @internal */
export interface StatementFlags {
  subjectName?: string;
  builderId?: string;
  invocationId?: string;
  startedOn?: string;
  finishedOn?: string;
}

/** Adds the statement flags to a command. @internal */
export function statementOptions(command: Command): Command {
  return command
    .option(
      '--subject-name <name>',
      "the statement subject's name (default: the artifact's file name)",
    )
    .option('--builder-id <uri>', "SLSA builder id (default: the header's builder id)")
    .option(
      '--invocation-id <id>',
      "build invocation id, such as a CI run URL (default: the header's build_url)",
    )
    .option('--started-on <time>', "RFC 3339 build start (default: the header's build_timestamp)")
    .option('--finished-on <time>', "RFC 3339 build end (default: the header's build_timestamp)");
}

/** An artifact's header, digest and provenance statement. @internal */
export interface AttestedArtifact {
  readonly path: string;
  readonly info: ArtifactHeaderInfo & { readonly artifactDigest: DigestString };
  readonly statement: Statement<SlsaProvenance>;
}

/**
 * Reads an artifact's header (hashing the rest for the artifact digest) and builds its SLSA
 * provenance statement.
 *
 * @throws {@link PlumblineError} `PLB_LEGACY_ARTIFACT` for a file without a Plumbline header.
 * @internal
 */
export async function attestArtifact(
  cwd: string,
  artifact: string,
  flags: StatementFlags,
  signal?: AbortSignal,
): Promise<AttestedArtifact> {
  const path = resolve(cwd, artifact);
  const info = await readHeader(path, { artifactDigest: true, ...(signal ? { signal } : {}) });
  if (info.artifactDigest === undefined) {
    throw new PlumblineError('PLB_INTERNAL', 'the artifact digest was not computed');
  }
  const name = flags.subjectName ?? artifact.split(/[\\/]/).pop() ?? 'artifact';
  const statement = buildProvenanceStatement({
    header: info.header,
    artifactDigest: info.artifactDigest,
    headerDigest: info.headerDigest,
    subjectName: name,
    ...(flags.builderId === undefined ? {} : { builderId: flags.builderId }),
    ...(flags.invocationId === undefined ? {} : { invocationId: flags.invocationId }),
    ...(flags.startedOn === undefined ? {} : { startedOn: flags.startedOn }),
    ...(flags.finishedOn === undefined ? {} : { finishedOn: flags.finishedOn }),
  });
  return { path, info: info as AttestedArtifact['info'], statement };
}
