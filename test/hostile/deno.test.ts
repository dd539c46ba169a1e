import { defineHostileSuite } from './cases.ts';

defineHostileSuite('deno');
