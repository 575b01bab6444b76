import { describe, expect, it } from 'vitest';
import { barbacaneArtifactHash } from '../src/artifact-hash.js';
import { parseBarbacaneManifest } from '../src/schema.js';
import { readBca } from '../src/read.js';
import { buildBca, hex, standardFiles, tempDir, v6Manifest } from './fixtures.js';

const parse = (m: Record<string, unknown> | string) =>
  parseBarbacaneManifest(new TextEncoder().encode(typeof m === 'string' ? m : JSON.stringify(m)));

describe('barbacaneArtifactHash', () => {
  it('recomputes the version 6 hash, written out line by line in the fixture', async () => {
    const dir = await tempDir();
    const bca = await readBca(await buildBca(dir, standardFiles()));
    const result = barbacaneArtifactHash(bca);
    expect(result).toMatchObject({ recomputable: true, version: 6, matches: true });
    if (result.recomputable) expect(result.computed).toBe(result.declared);
  });

  it('recomputes version 5 with the same formula and defaults when mcp and waf are absent', () => {
    const m = v6Manifest({ barbacane_artifact_version: 5 });
    expect(barbacaneArtifactHash({ manifest: parse(m) })).toMatchObject({ matches: true });
    delete m['mcp'];
    delete m['waf'];
    expect(barbacaneArtifactHash({ manifest: parse(m) })).toMatchObject({
      recomputable: true,
      matches: true,
    });
  });

  it('notices a changed capability, WAF field, checksum or spec hash', () => {
    const base = v6Manifest();
    const tweaks: Record<string, unknown>[] = [
      { capabilities_enforced: false },
      { waf: { ...(base['waf'] as object), max_response_body: 1 } },
      { waf: { ...(base['waf'] as object), mode: 'detection-only' } },
      { waf: { ...(base['waf'] as object), audit: 'off' } },
      { mcp: { enabled: true, server_name: 'x', server_version: '1' } },
      {
        checksums: {
          ...(base['checksums'] as object),
          'waf/rules.json': `sha256:${'0'.repeat(64)}`,
        },
      },
    ];
    for (const tweak of tweaks) {
      const result = barbacaneArtifactHash({ manifest: parse({ ...base, ...tweak }) });
      expect(result).toMatchObject({ recomputable: true, matches: false });
    }
  });

  // barbacane-compiler src/artifact.rs, compute_artifact_hash at v0.3.0 to v0.7.0 (versions 2
  // and 3): source specs and checksums only. At v0.8.0/v0.8.1 (version 4) the capability surface
  // and MCP lines follow; no WAF line.
  it('uses the formula of the release that wrote each version', () => {
    const specs = `source_spec:api.yaml=${hex('spec')}\n`;
    const checksums = `plugins/a.wasm=sha256:${hex('a')}\nroutes.json=sha256:${hex('r')}\n`;
    const base = {
      compiled_at: '2026-01-01T00:00:00Z',
      compiler_version: '0.7.0',
      source_specs: [{ file: 'api.yaml', sha256: hex('spec'), type: 'openapi', version: '3.1.0' }],
      routes_count: 0,
      checksums: { 'routes.json': `sha256:${hex('r')}`, 'plugins/a.wasm': `sha256:${hex('a')}` },
      plugins: [
        {
          name: 'a',
          version: '1.0.0',
          plugin_type: 'middleware',
          wasm_path: 'plugins/a.wasm',
          sha256: hex('a'),
          capabilities: { body_access: true, host_functions: ['b', 'B', 'a'] },
        },
      ],
      provenance: { commit: null, source: null },
    };
    for (const version of [2, 3]) {
      const m = { barbacane_artifact_version: version, ...base, artifact_hash: '' };
      m.artifact_hash = `sha256:${hex(specs + checksums)}`;
      expect(barbacaneArtifactHash({ manifest: parse(m) })).toMatchObject({ matches: true });
    }
    const v4Lines =
      specs +
      checksums +
      'capabilities_enforced=false\n' +
      'plugin:a\ttype=middleware\tversion=1.0.0\tbody_access=true\thost_functions=B,a,b\n' +
      'mcp:enabled=false\tserver_name=\tserver_version=\n';
    const v4 = { barbacane_artifact_version: 4, ...base, artifact_hash: `sha256:${hex(v4Lines)}` };
    expect(barbacaneArtifactHash({ manifest: parse(v4) })).toMatchObject({ matches: true });
    // A v4 manifest whose hash followed the v2 formula does not match.
    const old = { ...v4, artifact_hash: `sha256:${hex(specs + checksums)}` };
    expect(barbacaneArtifactHash({ manifest: parse(old) })).toMatchObject({ matches: false });
  });

  it('does not guess the formula of a version 4 manifest with a waf field (no release writes one)', () => {
    const m = v6Manifest({ barbacane_artifact_version: 4 });
    const result = barbacaneArtifactHash({ manifest: parse(m) });
    expect(result).toMatchObject({ recomputable: false, version: 4 });
    if (!result.recomputable) expect(result.reason).toContain('unreleased');
  });

  it('says version 1 has no artifact_hash', () => {
    const v1 = v6Manifest({ barbacane_artifact_version: 1 });
    delete v1['artifact_hash'];
    const r1 = barbacaneArtifactHash({ manifest: parse(v1) });
    expect(r1).toMatchObject({ recomputable: false, version: 1, declared: null });
    if (!r1.recomputable) expect(r1.reason).toContain('no artifact_hash');
  });

  // WafConfig.inbound_threshold/outbound_threshold are i64 and max_response_body u64
  // (barbacane-compiler src/artifact.rs, main after v0.8.1): beyond 2^53 they stay exact.
  it('hashes WAF integers beyond 2^53 with their exact digits', () => {
    const big = '9007199254740993'; // 2^53 + 1, which a JS number rounds to ...992
    const lines = (inbound: string, max: string): string =>
      `source_spec:api.yaml=${hex('s')}\nroutes.json=sha256:${hex('r')}\n` +
      'capabilities_enforced=false\nmcp:enabled=false\tserver_name=\tserver_version=\n' +
      `waf:enabled=true\tparanoia=2\tmode=Blocking\tinbound=${inbound}\toutbound=-9223372036854775808\tmax_response_body=${max}\taudit=RelevantOnly\tunsupported=Fail\tskipped=920100,942100\n`;
    const text = (hash: string, inbound: string, max: string) =>
      `{"barbacane_artifact_version":6,"compiled_at":"x","compiler_version":"0.8.1",` +
      `"source_specs":[{"file":"api.yaml","sha256":"${hex('s')}","type":"openapi","version":"3.1.0"}],` +
      `"routes_count":0,"checksums":{"routes.json":"sha256:${hex('r')}"},"plugins":[],` +
      `"artifact_hash":"${hash}","provenance":{"commit":null,"source":null},` +
      `"waf":{"enabled":true,"paranoia_level":2,"inbound_threshold":${inbound},` +
      `"outbound_threshold":-9223372036854775808,"max_response_body":${max},"skipped_rules":[920100,942100]}}`;
    const maxU64 = '18446744073709551615';
    const hash = `sha256:${hex(lines(big, maxU64))}`;
    const manifest = parse(text(hash, big, maxU64));
    expect(barbacaneArtifactHash({ manifest })).toMatchObject({
      recomputable: true,
      matches: true,
    });
    // Out of i64 / u64 range is invalid for Barbacane's serde, and so here.
    expect(() => parse(text(hash, '9223372036854775808', maxU64))).toThrow(
      expect.objectContaining({ code: 'PLB_BCA_MANIFEST_INVALID' }),
    );
    expect(() => parse(text(hash, big, '18446744073709551616'))).toThrow(
      expect.objectContaining({ code: 'PLB_BCA_MANIFEST_INVALID' }),
    );
    // An exponent is a float for serde, never an i64.
    expect(() => parse(text(hash, '1e20', maxU64))).toThrow(
      expect.objectContaining({ code: 'PLB_BCA_MANIFEST_INVALID' }),
    );
  });
});
