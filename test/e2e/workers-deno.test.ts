import { workersSuite } from './workersSuite.ts';

workersSuite('deno');
