import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, spawnUntilListening, type RunningBalancer } from '../helpers/startBalancer.ts';
import { waitFor } from '../helpers/waitFor.ts';

// `npm start`: the tutorial's demo, as a newcomer first meets it. Its backends listen on the
// tutorial's fixed ports (8081, 8082, 9081, 9082); the balancer on a free one here.

let demo: RunningBalancer;

beforeAll(async () => {
  demo = await spawnUntilListening(process.execPath, [join(PROJECT_ROOT, 'examples/demo.js')], { env: { ...process.env, PORT: '0', ADMIN_PORT: '0' }, timeoutMs: 20_000 });
}, 30_000);

afterAll(async () => {
  await demo?.stop();
});

/** The demo's answer for a Host (Node's fetch would not send a Host of its own choosing). */
function answerFor(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${demo.url}/`, { headers: { host } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

describe('the demo (npm start)', () => {
  it("answers www.mango.com from a mango backend every time, 9081 included, as the tutorial's config means it", async () => {
    const answers = await Promise.all(Array.from({ length: 9 }, () => answerFor('www.mango.com')));
    for (const answer of answers) expect(answer).toMatch(/^This is the mango application\. \(mango[123]:/);
  });

  it('answers www.apple.com from its one live backend', async () => {
    expect(await answerFor('www.apple.com')).toMatch(/^This is the apple application\. \(apple1:/);
  });

  it('says why 9999 and 8888 are reported DOWN', () => {
    expect(demo.output()).toMatch(/localhost:9999 and localhost:8888, where nothing listens on purpose/);
    expect(demo.output()).toMatch(/DOWN/);
  });
});

describe("the demo's operations", () => {
  it('logs each request in text and serves the status page it names, which shows the dead apple backends as down', async () => {
    await answerFor('www.apple.com');
    // Written once the response is done, after it has reached the client: waited for, not assumed.
    const logged = / GET www\.apple\.com \/ 200 \d+ [\d.]+ms route=www\.apple\.com backend=localhost:9082 /;
    await waitFor(() => logged.test(demo.output()), 5_000, `the access log line:\n${demo.output()}`);
    const admin = /The status page: (http:\/\/127\.0\.0\.1:\d+)\/status/.exec(demo.output())?.[1];
    expect(admin).toBeDefined();
    const page = await fetch(`${admin}/status`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const status = (await (await fetch(`${admin}/api/status`)).json()) as { backends: { backend: string; health: string }[] };
    expect(status.backends.filter((backend) => backend.health === 'down').map((backend) => backend.backend).sort()).toEqual(['localhost:8888', 'localhost:9999']);
  });
});
