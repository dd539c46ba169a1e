import { defineConformanceSuite } from './suite.ts';

defineConformanceSuite('workerd');
