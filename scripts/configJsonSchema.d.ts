import type { GenericSchema } from 'valibot';

/** The editors' JSON Schema for config files: draft-07, every key described, `${env:...}` accepted. */
export function configJsonSchema(configSchema: GenericSchema): Record<string, unknown>;
/** The schema as generated, with the restated rules laid over it, before `${env:...}` is allowed. */
export function describedJsonSchema(configSchema: GenericSchema): Record<string, unknown>;
/** Lets constrained strings hold an `${env:...}` reference, and numbers and booleans be one. */
export function acceptEnvReferences<T>(schema: T): T;
/** The definitions of `${env:...}` in text (`envReference`) and as a whole number or boolean (`envValue`). */
export const ENV_DEFINITIONS: Record<'envReference' | 'envValue', { description: string; type: 'string'; pattern: string }>;
