/**
 * What a build tool runs after compiling a gateway configuration, with the SDK instead of the CLI:
 * manifest → seal → SBOM → OCI labels → attestation → signature, everything written into `out/`,
 * then every output verified again the way a deploy step (or an auditor) would.
 *
 * `npm run example:build-pipeline -w @plumbline/examples [-- --inputs DIR --payload FILE --out DIR]`
 * Defaults: the sample configuration in ../fixtures/gateway-config, its routes.json as the
 * compiled payload, and ./out/build-pipeline. The signing key comes from `--key FILE` (PEM,
 * ECDSA P-256) or is generated for the run (written next to the outputs, private key mode 0600).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PlumblineError } from '@plumbline/core';
import { buildProvenanceStatement, encodeStatement } from '@plumbline/core/attest';
import {
  buildManifest,
  readHeader,
  readLoadCandidate,
  sealArtifactFile,
  updateAttachmentsFile,
  verifyArtifact,
} from '@plumbline/core/node';
import {
  createKeyVerifier,
  generateSigningKeyPair,
  SIGSTORE_BUNDLE_ATTACHMENT,
} from '@plumbline/core/signer';
import { verifyOnLoad } from '@plumbline/core/verify';
import { DEFAULT_SPEC_VERSION, toCycloneDX, validateBom } from '@plumbline/cyclonedx';
import { ociLabels, renderLabels } from '@plumbline/oci';
import { createKeyBundle } from '@plumbline/sigstore';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: join(here, '..', 'fixtures', 'gateway-config') },
    payload: { type: 'string' },
    out: { type: 'string', default: join(here, '..', 'out', 'build-pipeline') },
    key: { type: 'string' },
    commit: {
      type: 'string',
      default: process.env.GITHUB_SHA ?? '0123456789abcdef0123456789abcdef01234567',
    },
    source: { type: 'string', default: 'https://github.com/acme/storefront-gateway' },
    ref: { type: 'string', default: process.env.GITHUB_REF ?? 'refs/heads/main' },
  },
});
const inputs = resolve(values.inputs);
const payload = resolve(values.payload ?? join(inputs, 'routes.json'));
const out = resolve(values.out);
await mkdir(out, { recursive: true });
const step = (n: number, what: string): void => console.log(`${n}. ${what}`);
const wrote = (path: string): void => console.log(`   wrote ${basename(path)}`);

// 1. Manifest: every input file hashed into one Merkle root.
step(1, 'manifest');
const manifest = await buildManifest([inputs], {
  roles: [
    ['specs/**', 'spec'],
    ['plugins/**', 'plugin'],
    ['**', 'config'],
  ],
});
await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
wrote(join(out, 'manifest.json'));
console.log(`   root ${manifest.root} over ${manifest.entries.length} inputs`);

// 2. Seal: the compiled payload and the provenance header in one container.
step(2, 'seal');
const artifact = join(out, 'gateway.plb');
const sealed = await sealArtifactFile({
  manifest,
  provenance: {
    commit: values.commit,
    source: values.source,
    ref: values.ref,
    builder: { id: 'acme-gateway-compiler', version: '2.4.0' },
  },
  sourceDateEpoch: process.env.SOURCE_DATE_EPOCH ?? '1767225600',
  mediaType: 'application/json',
  payload,
  out: artifact,
  artifactDigest: true,
});
wrote(artifact);
console.log(`   artifact digest ${sealed.artifactDigest}`);

// 3. SBOM: one CycloneDX component per input, validated against the schema before writing.
step(3, 'SBOM');
const info = await readHeader(artifact, { artifactDigest: true });
const { size } = await import('node:fs/promises').then((fs) => fs.stat(artifact));
const sbom = await toCycloneDX(info.header, {
  artifact: { name: basename(artifact), digest: info.artifactDigest!, size },
  headerDigest: info.headerDigest,
  validate: true,
});
await writeFile(join(out, 'gateway.cdx.json'), sbom);
wrote(join(out, 'gateway.cdx.json'));

// 4. OCI labels for the image that ships the artifact.
step(4, 'OCI labels');
const labels = ociLabels(info.header, { headerDigest: info.headerDigest });
await writeFile(join(out, 'labels.json'), `${JSON.stringify(labels, null, 2)}\n`);
await writeFile(join(out, 'Dockerfile.labels'), renderLabels(labels, 'dockerfile'));
wrote(join(out, 'labels.json'));
wrote(join(out, 'Dockerfile.labels'));

// 5. Attestation: an in-toto statement with an SLSA provenance predicate about the artifact.
step(5, 'attestation');
const statement = buildProvenanceStatement({
  header: info.header,
  artifactDigest: info.artifactDigest!,
  headerDigest: info.headerDigest,
  subjectName: basename(artifact),
});
await writeFile(join(out, 'gateway.intoto.json'), encodeStatement(statement));
wrote(join(out, 'gateway.intoto.json'));

// 6. Signature: a Sigstore bundle (DSSE) over the statement, attached to the container. The
// artifact digest does not change: attachments are outside what the digest covers.
step(6, 'signature');
let privateKey: string;
let publicKey: string;
if (values.key === undefined) {
  const pair = await generateSigningKeyPair();
  privateKey = pair.privateKeyPem;
  publicKey = pair.publicKeyPem;
  await writeFile(join(out, 'signing.key.pem'), privateKey, { mode: 0o600 });
  await writeFile(join(out, 'signing.pub.pem'), publicKey);
  wrote(join(out, 'signing.pub.pem'));
} else {
  privateKey = await readFile(values.key, 'utf8');
  const { createPublicKey } = await import('node:crypto');
  publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}
const bundle = await createKeyBundle({ statement, privateKey });
const bundleBytes = new TextEncoder().encode(`${JSON.stringify(bundle)}\n`);
await writeFile(join(out, 'gateway.plb.sigstore.json'), bundleBytes);
await updateAttachmentsFile(artifact, { [SIGSTORE_BUNDLE_ATTACHMENT]: bundleBytes });
wrote(join(out, 'gateway.plb.sigstore.json'));

// Verify everything again, as the deploy step would.
console.log('verify');
const check = (ok: boolean, what: string): void => {
  if (!ok) throw new PlumblineError('PLB_EXAMPLE_VERIFY', `verification failed: ${what}`);
  console.log(`   ok  ${what}`);
};
const verified = await verifyArtifact(artifact, { inputs: [inputs] });
check(verified.status === 'verified', 'payload, header and inputs match the artifact');
check(
  verified.artifactDigest === sealed.artifactDigest,
  'signing left the artifact digest unchanged',
);
await validateBom(await readFile(join(out, 'gateway.cdx.json'), 'utf8'), {
  format: 'json',
  specVersion: DEFAULT_SPEC_VERSION,
});
check(true, 'the SBOM is valid CycloneDX');
const relabelled = ociLabels((await readHeader(artifact)).header, {
  headerDigest: info.headerDigest,
});
check(JSON.stringify(relabelled) === JSON.stringify(labels), 'the labels match the artifact');
const loaded = await verifyOnLoad(await readLoadCandidate(artifact), {
  mode: 'enforce',
  requireCommit: true,
  allowedSources: [values.source],
  requireSignature: true,
  verifier: await createKeyVerifier({ publicKeys: [publicKey] }),
});
check(
  loaded.verification.status === 'verified',
  'a gateway under enforce loads it (signature valid)',
);
console.log(`done: outputs in ${out}`);
