import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  attestArtifactFile,
  type ArtifactStatementOptions,
  type AttestedArtifactFile,
} from '@plumbline/core/node';

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

/**
 * Reads an artifact's header and digests and builds its SLSA provenance statement, with the
 * statement flags (the subject's name defaults to the file name as given).
 *
 * @throws {@link PlumblineError} `PLB_LEGACY_ARTIFACT` for a file without a Plumbline header.
 * @internal
 */
export function attestArtifact(
  cwd: string,
  artifact: string,
  flags: StatementFlags,
  signal?: AbortSignal,
): Promise<AttestedArtifactFile> {
  return attestArtifactFile(resolve(cwd, artifact), statementFlags(flags, artifact, signal));
}

/** The statement options of `attestArtifactFile` from the command's flags. @internal */
export function statementFlags(
  flags: StatementFlags,
  artifact: string,
  signal?: AbortSignal,
): ArtifactStatementOptions {
  return {
    subjectName: flags.subjectName ?? artifact.split(/[\\/]/).pop() ?? 'artifact',
    ...(flags.builderId === undefined ? {} : { builderId: flags.builderId }),
    ...(flags.invocationId === undefined ? {} : { invocationId: flags.invocationId }),
    ...(flags.startedOn === undefined ? {} : { startedOn: flags.startedOn }),
    ...(flags.finishedOn === undefined ? {} : { finishedOn: flags.finishedOn }),
    ...(signal ? { signal } : {}),
  };
}
