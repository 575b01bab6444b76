import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  releaseBca,
  sampleInputs,
  tarMember,
  tamper as tamperWith,
  type CompileInputs,
} from '@plumbline/testkit/barbacane';
import { computeBarbacaneArtifactHash } from '../src/artifact-hash.js';
import { parseBarbacaneManifest } from '../src/schema.js';
import { loadBcaAsArtifact, readArtifactHeader } from '../src/load.js';
import { readBca } from '../src/read.js';
import { BCA_HEADER_MEMBER, sealBca } from '../src/seal.js';
import {
  createHeader,
  encodeHeader,
  type HeaderValue,
  type ProvenanceHeader,
} from '@plumbline/core/header';
import { manifestFromEntries } from '@plumbline/core/manifest';
import { tempDir } from './fixtures.js';

/** Edits manifest.json in a sealed copy and recomputes Barbacane's own hash, as an attacker can. */
const tamper = (file: string, edit: (m: Record<string, unknown>) => void): Promise<string> =>
  tamperWith(file, edit, (m) =>
    computeBarbacaneArtifactHash(
      parseBarbacaneManifest(new TextEncoder().encode(JSON.stringify(m))),
    ),
  );

const SECOND_WASM = readFileSync(
  new URL('../../../examples/fixtures/gateway-config/plugins/rate-limit.wasm', import.meta.url),
).map((b, i) => (i === 30 ? 0x42 : b)); // another module (a different constant)

/** A Barbacane 0.8.1 or main (version 6) artifact with two plugins, sealed with --embed. */
async function sealedArtifact(version: 4 | 6): Promise<{ dir: string; sealed: string }> {
  const dir = await tempDir();
  const base = sampleInputs();
  const inputs: CompileInputs = {
    ...base,
    plugins: [
      ...base.plugins,
      {
        name: 'auth',
        version: '0.2.0',
        pluginType: 'middleware',
        wasm: SECOND_WASM,
        hostFunctions: ['host_log'],
      },
    ],
  };
  const file = join(dir, 'gateway.bca');
  await writeFile(file, releaseBca({ artifactVersion: version, compilerVersion: '0.8.1' }, inputs));
  const { output } = await sealBca(file, { mode: 'embed', sourceDateEpoch: null });
  return { dir, sealed: output };
}

async function expectCaught(file: string): Promise<void> {
  // The tampered copy is self-consistent for Barbacane: its checksums and hash hold.
  const bca = await readBca(file);
  expect(bca.checksumsOk).toBe(true);
  expect(bca.members.some((m) => m.path === BCA_HEADER_MEMBER)).toBe(true);
  const result = await loadBcaAsArtifact(file);
  expect(result.barbacaneHash).toMatchObject({ recomputable: true, matches: true });
  expect(result.status).toBe('mismatch');
  await expect(readArtifactHeader(file)).rejects.toMatchObject({ code: 'PLB_BCA_SEAL_MISMATCH' });
}

/** A header as written before manifest.json and the tar stream were bound. */
async function legacyHeader(sealed: string): Promise<string> {
  const { header } = (await loadBcaAsArtifact(sealed)) as { header: ProvenanceHeader };
  const inputs = header.inputs.filter((e) => e.path !== 'manifest.json');
  const ext = { ...(header.extensions['dev.barbacane.artifact'] as Record<string, HeaderValue>) };
  delete ext['tar_digest'];
  delete ext['tar_size'];
  const legacy = createHeader({
    manifest: manifestFromEntries(inputs),
    payload: header.payload,
    provenance: header.provenance,
    extensions: { 'dev.barbacane.artifact': ext },
    buildTimestamp: header.build_timestamp,
    sourceDateEpoch: null,
  });
  return Buffer.from(encodeHeader(legacy)).toString('base64');
}

describe('an embedded seal and a tampered manifest.json', () => {
  it('verifies the untouched sealed copy', async () => {
    for (const version of [4, 6] as const) {
      const { sealed } = await sealedArtifact(version);
      expect(await loadBcaAsArtifact(sealed)).toMatchObject({ status: 'verified', problems: [] });
    }
  });

  it('catches capabilities_enforced turned off', async () => {
    const { sealed } = await sealedArtifact(4);
    await expectCaught(await tamper(sealed, (m) => (m['capabilities_enforced'] = false)));
  });

  it('catches a host_secrets grant to a plugin', async () => {
    const { sealed } = await sealedArtifact(4);
    const file = await tamper(sealed, (m) => {
      const plugins = m['plugins'] as { capabilities: { host_functions: string[] } }[];
      plugins[0]!.capabilities.host_functions.push('host_secrets');
    });
    await expectCaught(file);
  });

  it('catches the WAF turned to detection-only or its thresholds raised', async () => {
    const { sealed } = await sealedArtifact(6);
    await expectCaught(
      await tamper(
        sealed,
        (m) => ((m['waf'] as Record<string, unknown>)['mode'] = 'detection-only'),
      ),
    );
    await expectCaught(
      await tamper(
        sealed,
        (m) => ((m['waf'] as Record<string, unknown>)['inbound_threshold'] = 1e9),
      ),
    );
  });

  it('catches a downgrade to artifact version 4 (which hashes no WAF policy)', async () => {
    const { sealed } = await sealedArtifact(6);
    const file = await tamper(sealed, (m) => {
      m['barbacane_artifact_version'] = 4;
      delete m['waf'];
    });
    await expectCaught(file);
  });

  it('catches two plugins swapping wasm_path (and sha256), which no Barbacane hash line covers', async () => {
    const { sealed } = await sealedArtifact(4);
    const file = await tamper(sealed, (m) => {
      const [a, b] = m['plugins'] as { wasm_path: string; sha256: string }[];
      [a!.wasm_path, b!.wasm_path] = [b!.wasm_path, a!.wasm_path];
      [a!.sha256, b!.sha256] = [b!.sha256, a!.sha256];
    });
    await expectCaught(file);
  });

  it('names what differs: the manifest, the recorded Barbacane hash and the sealed tar stream', async () => {
    const { sealed } = await sealedArtifact(4);
    const file = await tamper(sealed, (m) => (m['capabilities_enforced'] = false));
    const { problems } = await loadBcaAsArtifact(file);
    const text = problems.join('\n');
    expect(text).toMatch(/manifest\.json/);
    expect(text).toMatch(/recorded Barbacane artifact_hash/);
    expect(text).toMatch(/tar stream before plumbline\/header\.cbor/);
  });

  it('does not verify an embedded header that covers neither manifest.json nor the tar stream', async () => {
    const { dir, sealed } = await sealedArtifact(4);
    // Rebuild the sealed copy with a header of the earlier form (inputs without manifest.json).
    const original = join(dir, 'gateway.bca');
    const bytes = Buffer.from(await legacyHeader(sealed), 'base64');
    const tar = gunzipSync(await readFile(original));
    const old = join(dir, 'old.sealed.bca');
    await writeFile(
      old,
      gzipSync(
        Buffer.concat([
          tar.subarray(0, tar.length - 1024),
          tarMember(BCA_HEADER_MEMBER, bytes, 0x30),
          Buffer.alloc(1024),
        ]),
      ),
    );
    const result = await loadBcaAsArtifact(old);
    expect(result.status).toBe('mismatch');
    expect(result.problems.join('\n')).toMatch(/seal the original \.bca again/);
    // A detached sidecar of that form still verifies: its payload digest binds every byte.
    await sealBca(original, { mode: 'sidecar', sourceDateEpoch: null });
    await writeFile(`${original}.plumbline`, Buffer.from(await legacyHeader(sealed), 'base64'));
    expect(await loadBcaAsArtifact(original)).toMatchObject({ status: 'verified', problems: [] });
  });
});
