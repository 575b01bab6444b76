/**
 * The Barbacane transport proven like every drift transport: the conformance suite in its
 * translating mode, with a test data plane speaking Barbacane's own messages
 * (conformance-harness.ts), run raw and under core's serveDrift.
 */
import { describeTranslatingTransportConformance } from '@plumbline/core/testing';
import { createBarbacaneTransport } from '../src/transport.js';
import { barbacaneFactory } from './conformance-harness.js';

await describeTranslatingTransportConformance(
  'barbacane',
  barbacaneFactory(createBarbacaneTransport),
);
