import { defineConformanceSuite } from './suite.ts';

defineConformanceSuite('deno');
