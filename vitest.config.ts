import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The Worker imports its bundled config as text, as wrangler's text-module rule does.
  plugins: [{ name: 'yaml-as-text', transform: (code, id) => (id.endsWith('.yaml') ? `export default ${JSON.stringify(code)};` : undefined) }],
  // The Durable Object's base class exists only in workerd; the Worker's modules import it.
  resolve: { alias: { 'cloudflare:workers': new URL('./test/helpers/cloudflareWorkers.ts', import.meta.url).pathname } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // End-to-end files start servers and child processes; two cores run two files at a time.
    maxWorkers: 2,
  },
});
