// Where things are, independent of the directory `npm run bench` was started from.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const repoRoot = dirname(benchDir);
export const resultsDir = join(benchDir, 'results');
export const serversDir = join(benchDir, 'servers');
export const switchyardCli = join(repoRoot, 'dist', 'cli.js');
