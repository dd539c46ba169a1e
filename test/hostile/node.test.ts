import { defineHostileSuite } from './cases.ts';

defineHostileSuite('node');
