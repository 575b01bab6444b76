/**
 * in-toto Statement v1 and SLSA Provenance v1 attestations about Plumbline artifacts: builders,
 * zod schemas, parsing and subject checks.
 *
 * @packageDocumentation
 */
export {
  IN_TOTO_STATEMENT_TYPE,
  ARTIFACT_HASH_DIGEST_KEY,
  HEADER_DIGEST_ANNOTATION,
  digestSetSchema,
  resourceDescriptorSchema,
  statementSchema,
  parseStatement,
  toStatement,
  encodeStatement,
  checkStatementSubject,
  type ResourceDescriptor,
  type Statement,
  type StatementLimits,
  type StatementSubjectExpectation,
} from './statement.js';
export {
  SLSA_PROVENANCE_PREDICATE_TYPE,
  PLUMBLINE_BUILD_TYPE,
  slsaProvenanceSchema,
  slsaProvenanceStatementSchema,
  buildProvenanceStatement,
  toProvenanceStatement,
  type SlsaProvenance,
  type ProvenanceStatementOptions,
} from './provenance.js';
export { attestationJsonSchemas } from './json-schema.js';
export { isTypeUri, builderIdUri, BUILDER_ID_URN_PREFIX } from './type-uri.js';
