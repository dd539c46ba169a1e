// One temp dir per harness run for generated configs and nginx/HAProxy state, removed on exit
// (keep it with BENCH_KEEP_TMP=1 to read a generated config).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeRunDir() {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  if (!process.env.BENCH_KEEP_TMP) {
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return dir;
}
