import { afterAll, beforeAll, describe } from 'vitest';
import { RUNTIME_FACTS, type RuntimeName } from '../helpers/runtimes.ts';
import { firewallCases } from './cases/firewall.ts';
import { requestCases } from './cases/request.ts';
import { responseCases } from './cases/response.ts';
import { routingCases } from './cases/routing.ts';
import { startConformanceFixture, stopConformanceFixture, type ConformanceFixture } from './fixture.ts';

/**
 * The HTTP-level behaviour every runtime must share, run against a balancer started the way users
 * start it on `runtime`, with real loopback backends. Where a runtime documentedly differs
 * (RUNTIME_FACTS in test/helpers/runtimes.ts, the README), the case asserts that runtime's
 * documented behaviour, and its name says so.
 */
export function defineConformanceSuite(runtime: RuntimeName): void {
  describe(`conformance on ${runtime}`, () => {
    // The facts name the cases as they are collected; beforeAll fills in the rest before they run.
    const fixture = { runtime, facts: RUNTIME_FACTS[runtime] } as ConformanceFixture;

    beforeAll(async () => {
      Object.assign(fixture, await startConformanceFixture(runtime));
    }, 90_000);

    afterAll(() => stopConformanceFixture(fixture));

    routingCases(fixture);
    firewallCases(fixture);
    requestCases(fixture);
    responseCases(fixture);
  });
}
