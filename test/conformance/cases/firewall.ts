import { describe, expect, it } from 'vitest';
import { sendRaw } from '../client.ts';
import type { ConformanceFixture } from '../fixture.ts';

/** The path firewall against raw spellings of the rejected paths, which no client library would send. */
export function firewallCases(fx: ConformanceFixture): void {
  describe('the path firewall over raw TCP', () => {
    const status = async (target: string, host = 'www.mango.com') => {
      const { head } = await sendRaw(fx.balancer.url, `GET ${target} HTTP/1.1\nhost: ${host}\n`, 150);
      return Number(/^HTTP\/(?:1\.[01]|2) (\d{3})/.exec(head)?.[1]);
    };
    const seenPaths = () => fx.mango1.seen.concat(fx.mango2.seen).map((seen) => seen.url);

    // The spellings of test/e2e/firewall-raw.test.ts that every runtime's request parser accepts.
    it.concurrent.each(FIREWALL_SPELLINGS)('holds against GET %s', async (target) => {
      expect([400, 403]).toContain(await status(target));
      // Backends see normalised paths, so a spelling that slipped through would show as one of these.
      expect(seenPaths().filter((path) => /^\/(messages|apps)(\/|\?|;|$)/i.test(path))).toEqual([]);
    });

    it.concurrent.each(['/pictures', '/messages-archive', '/x/messages', '/messagesx'])('lets GET %s through', async (target) => {
      expect(await status(target)).toBe(200);
    });

    it('refuses the rejected paths whatever the Host spelling of the route', async () => {
      for (const host of ['WWW.MANGO.COM', 'www.mango.com.']) expect(await status('/messages', host), host).toBe(403);
    });
  });
}

/** Spellings that name /messages or /apps; each must be refused (403) or not normalised (400). */
const FIREWALL_SPELLINGS = [
  '/messages',
  '/messages/1',
  '/apps/x/y',
  '/MESSAGES',
  '/%6d%65%73%73%61%67%65%73',
  '/messag%65s',
  '/%61pps',
  '/./messages',
  '/x/../messages',
  '/%2e/messages',
  '/x/%2e%2e/messages',
  '/x/.%2e/messages',
  '/pictures/../messages',
  '//messages',
  '///messages//1',
  '/messages?x=1',
  '/messages;jsessionid=abc',
  '/x/..%2fmessages',
  '/messages%2f1',
  '/x%5c..%5cmessages',
  '/x\\..\\messages',
];
