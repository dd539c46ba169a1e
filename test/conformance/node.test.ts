import { defineConformanceSuite } from './suite.ts';

defineConformanceSuite('node');
