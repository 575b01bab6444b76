/**
 * The conformance suites' own mutation tests: each suite runs against broken variants of a
 * correct implementation, and every variant must be caught, by the contract clause it breaks.
 */
import { describe, expect, it } from 'vitest';
import { decideNodeState } from '@plumbline/core/drift';
import {
  describeNodeStateRuleConformance,
  STATE_RULE_CLAUSES,
  ALERT_SINK_CLAUSES,
  ARTIFACT_VERIFIER_CLAUSES,
  describeArtifactVerifierConformance,
  SIGNER_CLAUSES,
  VERIFIER_CLAUSES,
  describeSignerConformance,
  describeVerifierConformance,
  AUDIT_SINK_CLAUSES,
  describeAlertSinkConformance,
  describeAuditSinkConformance,
  describeFleetStoreConformance,
  describeTransportConformance,
  describeTranslatingTransportConformance,
  STORE_CLAUSES,
  TRANSPORT_CLAUSES,
} from '@plumbline/core/testing';
import { brokenClauses, collector } from './mutants/run.js';
import { ALERT_SINK_FLAWS, flawedAlertSink, type AlertSinkFlaw } from './mutants/alert-sink.js';
import {
  SIGNER_FLAWS,
  VERIFIER_FLAWS,
  flawedSigner,
  flawedVerifier,
  type SignerFlaw,
  type VerifierFlaw,
} from './mutants/signer.js';
import {
  ARTIFACT_VERIFIER_FLAWS,
  flawedArtifactVerifier,
  type ArtifactVerifierFlaw,
} from './mutants/artifact-verifier.js';
import { AUDIT_SINK_FLAWS, flawedAuditSink, type AuditSinkFlaw } from './mutants/audit-sink.js';
import { STATE_RULE_FLAWS, flawedRule, type StateRuleFlaw } from './mutants/state-rule.js';
import { STORE_FLAWS, flawedStore, type StoreFlaw } from './mutants/store.js';
import { TRANSPORT_FLAWS, flawedTransport, type TransportFlaw } from './mutants/transport.js';
import { asTranslating } from './mutants/translating.js';

const clauseIds = (clauses: Record<string, { id: string }>): string[] =>
  Object.values(clauses).map((c) => c.id);

describe('the transport conformance suite catches every broken transport', () => {
  it('names only clauses it defines', () => {
    expect(clauseIds(TRANSPORT_CLAUSES)).toEqual(
      expect.arrayContaining(Object.values(TRANSPORT_FLAWS)),
    );
  });

  for (const flaw of Object.keys(TRANSPORT_FLAWS) as TransportFlaw[]) {
    const clause = TRANSPORT_FLAWS[flaw];
    it(`catches a transport with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeTransportConformance(flaw, flawedTransport(flaw), { api, timeoutMs: 400 });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
      expect(broken.get(clause)).toMatch(/^contract broken \(transport\.[a-z-]+\): /);
    });
  }
});

describe('the transport conformance suite in its translating mode catches every broken transport', () => {
  for (const flaw of Object.keys(TRANSPORT_FLAWS) as TransportFlaw[]) {
    const clause = TRANSPORT_FLAWS[flaw];
    it(`catches a transport with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      const factory = asTranslating(flawedTransport(flaw));
      await describeTranslatingTransportConformance(flaw, factory, { api, timeoutMs: 400 });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});

describe('the fleet store conformance suite catches every broken store', () => {
  it('passes the unbroken store the mutants are made from', async () => {
    const { api, tests } = collector();
    await describeFleetStoreConformance('correct', flawedStore(undefined), {
      api,
      timeoutMs: 2000,
    });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
    expect(clauseIds(STORE_CLAUSES)).toEqual(expect.arrayContaining(Object.values(STORE_FLAWS)));
  });

  for (const flaw of Object.keys(STORE_FLAWS) as StoreFlaw[]) {
    const clause = STORE_FLAWS[flaw];
    it(`catches a store with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeFleetStoreConformance(flaw, flawedStore(flaw), { api, timeoutMs: 400 });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});

describe('the audit sink conformance suite catches every broken sink', () => {
  it('passes the unbroken sink the mutants are made from', async () => {
    const { api, tests } = collector();
    await describeAuditSinkConformance('correct', flawedAuditSink(undefined), { api });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
    expect(clauseIds(AUDIT_SINK_CLAUSES)).toEqual(
      expect.arrayContaining(Object.values(AUDIT_SINK_FLAWS)),
    );
  });

  for (const flaw of Object.keys(AUDIT_SINK_FLAWS) as AuditSinkFlaw[]) {
    const clause = AUDIT_SINK_FLAWS[flaw];
    it(`catches a sink with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeAuditSinkConformance(flaw, flawedAuditSink(flaw), { api, timeoutMs: 400 });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});

describe('the node-state rule suite catches every broken rule', () => {
  it("passes core's decideNodeState", async () => {
    const { api, tests } = collector();
    await describeNodeStateRuleConformance('core', decideNodeState, { api });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
    expect(clauseIds(STATE_RULE_CLAUSES)).toEqual(
      expect.arrayContaining(Object.values(STATE_RULE_FLAWS)),
    );
  });

  for (const flaw of Object.keys(STATE_RULE_FLAWS) as StateRuleFlaw[]) {
    const clause = STATE_RULE_FLAWS[flaw];
    it(`catches a rule with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeNodeStateRuleConformance(flaw, flawedRule(flaw), { api });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});

describe('the alert sink conformance suite catches every broken sink', () => {
  it('passes the unbroken sink the mutants are made from', async () => {
    const { api, tests } = collector();
    await describeAlertSinkConformance('correct', flawedAlertSink(undefined), { api });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
    expect(clauseIds(ALERT_SINK_CLAUSES)).toEqual(
      expect.arrayContaining(Object.values(ALERT_SINK_FLAWS)),
    );
  });

  for (const flaw of Object.keys(ALERT_SINK_FLAWS) as AlertSinkFlaw[]) {
    const clause = ALERT_SINK_FLAWS[flaw];
    it(`catches a sink with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeAlertSinkConformance(flaw, flawedAlertSink(flaw), { api, timeoutMs: 1000 });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});

describe('the signer conformance suite catches every broken signer', () => {
  it('passes the unbroken signer the mutants are made from', async () => {
    const { api, tests } = collector();
    await describeSignerConformance('correct', flawedSigner(undefined), { api });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
    expect(clauseIds(SIGNER_CLAUSES)).toEqual(expect.arrayContaining(Object.values(SIGNER_FLAWS)));
  });

  for (const flaw of Object.keys(SIGNER_FLAWS) as SignerFlaw[]) {
    const clause = SIGNER_FLAWS[flaw];
    it(`catches a signer with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeSignerConformance(flaw, flawedSigner(flaw), { api });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});

describe('the signature verifier conformance suite catches every broken verifier', () => {
  it('passes the unbroken verifier the mutants are made from', async () => {
    const { api, tests } = collector();
    await describeVerifierConformance('correct', flawedVerifier(undefined), { api });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
    expect(clauseIds(VERIFIER_CLAUSES)).toEqual(
      expect.arrayContaining(Object.values(VERIFIER_FLAWS)),
    );
  });

  for (const flaw of Object.keys(VERIFIER_FLAWS) as VerifierFlaw[]) {
    const clause = VERIFIER_FLAWS[flaw];
    it(`catches a verifier with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeVerifierConformance(flaw, flawedVerifier(flaw), { api });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});

describe('the artifact verifier conformance suite catches every broken verifier', () => {
  it('passes the unbroken verifier the mutants are made from', async () => {
    const { api, tests } = collector();
    await describeArtifactVerifierConformance('correct', flawedArtifactVerifier(undefined), {
      api,
    });
    expect([...(await brokenClauses(tests)).entries()]).toEqual([]);
    expect(clauseIds(ARTIFACT_VERIFIER_CLAUSES)).toEqual(
      expect.arrayContaining(Object.values(ARTIFACT_VERIFIER_FLAWS)),
    );
  });

  for (const flaw of Object.keys(ARTIFACT_VERIFIER_FLAWS) as ArtifactVerifierFlaw[]) {
    const clause = ARTIFACT_VERIFIER_FLAWS[flaw];
    it(`catches a verifier with "${flaw}" as a breach of ${clause}`, async () => {
      const { api, tests } = collector();
      await describeArtifactVerifierConformance(flaw, flawedArtifactVerifier(flaw), { api });
      const broken = await brokenClauses(tests, clause);
      expect([...broken.keys()], `the mutant "${flaw}" survived`).toEqual([clause]);
    });
  }
});
