import { workersSuite } from './workersSuite.ts';

workersSuite('node');
