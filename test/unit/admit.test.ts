import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { FieldList } from '../../src/core/http/FieldList.ts';
import { admit, isAdmitted } from '../../src/core/proxy/admit.ts';

const config = loadConfig('health_check: false\npaths:\n  - path: /\n    servers: [localhost:8081]\n', 'lb.yaml');

const request = (method: string, target = '/') =>
  admit(config, { method, target, headers: new FieldList(['host', 'app.test']), scheme: 'http', peer: '127.0.0.1', body: null });

describe('admit', () => {
  it('lets an ordinary request in', () => {
    expect(isAdmitted(request('GET'))).toBe(true);
  });

  it('answers CONNECT with 501 itself: a tunnel is never forwarded to a backend', () => {
    const answer = request('CONNECT');
    expect(isAdmitted(answer)).toBe(false);
    expect(answer).toMatchObject({ status: 501 });
  });
});
