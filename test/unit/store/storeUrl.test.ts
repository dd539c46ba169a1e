import { describe, expect, it } from 'vitest';
import { redact } from '../../../src/core/config/schema/store.ts';
import { loadConfig } from '../../../src/core/config/loadConfig.ts';
import { redisAddress } from '../../../src/store/redisLink.ts';
import { errorsOf } from '../../helpers/configErrors.ts';

const config = (url: string) => `store: { redis: ${JSON.stringify(url)} }\npaths:\n  - path: /\n    servers: [localhost:8081]\n`;

describe('store.redis', () => {
  it.each([
    ['redis://10.0.0.5:6379/notanumber', '"redis://10.0.0.5:6379/notanumber" ends in "/notanumber", not a database number such as /0'],
    ['redis://:pw@10.0.0.5/O', '"redis://:***@10.0.0.5/O" ends in "/O", not a database number such as /0'],
    ['redis://10.0.0.5/0?db=x', '"redis://10.0.0.5/0?db=x" has a query string or a fragment; write only `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`'],
    ['http://10.0.0.5', '"http://10.0.0.5" is not a redis:// or rediss:// URL'],
    ['redis://:s3cr3t/abc@10.0.0.5:6379', '"redis://:***@10.0.0.5:6379" is not a URL (percent-encode `/`, `@`, `#`, `?` and `%` in the password)'],
  ])('refuses %s at load (so at check and reload too), naming the field and hiding the password', (url, message) => {
    expect(errorsOf(config(url))).toEqual([`lb.yaml:1:17: store.redis: ${message}`]);
  });

  it('accepts a database number, none, an upper-case scheme and a percent-encoded password, and hands ioredis only parsed options', () => {
    for (const url of ['redis://h', 'redis://h/', 'redis://h:7000/15', 'REDISS://u:p%2Fw@h/3']) expect(() => loadConfig(config(url), 'lb.yaml')).not.toThrow();
    expect(redisAddress('redis://h')).toEqual({ host: 'h', port: 6379, db: 0 });
    expect(redisAddress('REDISS://u:p%2F%40w@[::1]:7000/3')).toEqual({ host: '::1', port: 7000, username: 'u', password: 'p/@w', db: 3, tls: {} });
  });

  it('hides the password in any spelling of the URL', () => {
    expect(redact('redis://:pw@h:1')).toBe('redis://:***@h:1');
    expect(redact('REDIS://:secret@h:1')).toBe('REDIS://:***@h:1');
    expect(redact('redis://user:p@ss@word@h/0')).toBe('redis://user:***@h/0');
    expect(redact('rediss://:s3cr3t/abc@10.0.0.5:6379')).toBe('rediss://:***@10.0.0.5:6379');
    expect(redact('redis://:a#b?c@h')).toBe('redis://:***@h');
    expect(redact('redis://h:6379/0')).toBe('redis://h:6379/0');
  });

  it('caps store.timeout, which every limited request may wait', () => {
    expect(errorsOf('store: { redis: "redis://h", timeout: 10m }\npaths:\n  - path: /\n    servers: [localhost:8081]\n')).toEqual(['lb.yaml:1:39: store.timeout: a limited request waits at most 5s for Redis']);
  });
});
