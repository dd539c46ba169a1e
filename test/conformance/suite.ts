import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { RUNTIME_FACTS, type RuntimeName } from '../helpers/runtimes.ts';
import { compressCases } from './cases/compress.ts';
import { firewallCases } from './cases/firewall.ts';
import { poolsCases } from './cases/pools.ts';
import { matchCases } from './cases/match.ts';
import { gatesCases } from './cases/gates.ts';
import { mirrorCases } from './cases/mirror.ts';
import { requestCases } from './cases/request.ts';
import { responseCases } from './cases/response.ts';
import { routingCases } from './cases/routing.ts';
import type { Transport } from './client.ts';
import { startConformanceFixture, stopConformanceFixture, type ConformanceFixture } from './fixture.ts';

const HTTP1_FRAMING = 'HTTP/1.1 framing: not expressible in HTTP/2';

/**
 * Cases that cannot run over HTTP/2, by name (a case's or its describe's), with the reason. Each
 * is reported as skipped with its reason, and a name that no longer matches a case fails the suite.
 */
export const NOT_OVER_H2: Readonly<Record<string, string>> = {
  // What an HTTP/1.1 server gets wrong here is a body length in a status line's framing; HTTP/2
  // ends a message with END_STREAM instead.
  'answers HEAD / with status 200 and not one body byte': `${HTTP1_FRAMING} (raw status line and body bytes)`,
  'answers GET /status/204 with status 204 and not one body byte': `${HTTP1_FRAMING} (raw status line and body bytes)`,
  'answers GET /status/304 with status 304 and not one body byte': `${HTTP1_FRAMING} (raw status line and body bytes)`,
  'removes hop-by-hop fields, including those named in Connection': `${HTTP1_FRAMING}: it sends Connection and Proxy-Connection, connection-specific fields HTTP/2 forbids (RFC 9113 section 8.2.2)`,
  WebSocket: `${HTTP1_FRAMING}: a WebSocket is an HTTP/1.1 Upgrade (RFC 9113 section 8.2.2); RFC 8441's extended CONNECT is not served (docs/https.md), so WebSocket clients use http/1.1 on a TLS listener, as the https run does`,
};

/**
 * The HTTP-level behaviour every runtime must share, run against a balancer started the way users
 * start it on `runtime`, with real loopback backends. Where a runtime documentedly differs
 * (RUNTIME_FACTS in test/helpers/runtimes.ts, the README), the case asserts that runtime's
 * documented behaviour, and its name says so.
 * @param transport `https` (HTTP/1.1 over TLS) and `h2` (HTTP/2 over TLS) run the same cases
 *   against a TLS listener on Node and Deno; workerd is plain HTTP only, as Cloudflare terminates
 *   TLS in front of the Worker. Over h2, the cases of NOT_OVER_H2 are skipped with their reason.
 *   @default 'http'
 */
export function defineConformanceSuite(runtime: RuntimeName, transport: Transport = 'http'): void {
  describe(transport === 'http' ? `conformance on ${runtime}` : `conformance on ${runtime} over ${transport}`, () => {
    // The facts name the cases as they are collected; beforeAll fills in the rest before they run.
    const fixture = { runtime, transport, facts: RUNTIME_FACTS[runtime] } as ConformanceFixture;
    const excluded = transport === 'h2' ? NOT_OVER_H2 : {};
    const matched = new Set<string>();

    beforeAll(async () => {
      Object.assign(fixture, await startConformanceFixture(runtime, transport));
    }, 90_000);

    afterAll(() => stopConformanceFixture(fixture));

    beforeEach(({ task, skip }) => {
      for (let named: { name: string; suite?: unknown } | undefined = task; named; named = named.suite as typeof named) {
        if (!Object.hasOwn(excluded, named.name)) continue;
        matched.add(named.name);
        skip(excluded[named.name]);
      }
    });

    afterAll(() => {
      expect(Object.keys(excluded).filter((name) => !matched.has(name)), 'excluded names that match no case').toEqual([]);
    });

    routingCases(fixture);
    firewallCases(fixture);
    requestCases(fixture);
    responseCases(fixture);
    poolsCases(fixture);
    matchCases(fixture);
    compressCases(fixture);
    gatesCases(fixture);
    mirrorCases(fixture);
  });
}
