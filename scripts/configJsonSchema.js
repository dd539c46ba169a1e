// The JSON Schema editors complete and check config files with, generated from the valibot schema
// the loader validates with, so the two cannot drift apart. Build-time only (it needs the dev
// dependency @valibot/to-json-schema): `npm run schema` runs it on the built schema in dist/ and
// writes schema/switchyard.schema.json; test/unit/jsonSchema.test.ts runs it on the sources and
// fails while the committed file differs.
import { toJsonSchema } from '@valibot/to-json-schema';

const NAME = '[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?';

/**
 * `${env:NAME}` and `${env:NAME:-default}`, filled in from the environment before validation
 * (src/core/config/substituteEnv.ts): anywhere in a string value, and as the whole value for a
 * number or a boolean, which the loader then reads from the text.
 */
export const ENV_DEFINITIONS = {
  envReference: {
    description: 'Text holding ${env:NAME} or ${env:NAME:-default}, filled in from the environment when the config is loaded.',
    type: 'string',
    pattern: `\\$\\{env:${NAME}\\}`,
  },
  envValue: {
    description: 'A number or a boolean from the environment: ${env:NAME} or ${env:NAME:-default} as the whole value.',
    type: 'string',
    pattern: `^\\$\\{env:${NAME}\\}$`,
  },
};

const ENV_REFERENCE = { $ref: '#/definitions/envReference' };
const ENV_VALUE = { $ref: '#/definitions/envValue' };
const ANNOTATIONS = ['title', 'description', 'default', 'examples', '$comment'];

/**
 * @param {import('valibot').GenericSchema} configSchema the loader's schema, from src/ or dist/
 * @returns {Record<string, unknown>} a draft-07 JSON Schema in which every key has a description
 */
export function configJsonSchema(configSchema) {
  const { $schema, ...generated } = describedJsonSchema(configSchema);
  return {
    $schema,
    title: 'Switchyard load balancer config',
    ...acceptEnvReferences(generated),
    definitions: ENV_DEFINITIONS,
  };
}

/**
 * The schema as the generator makes it, with the rules the valibot pipes restate for editors
 * (`jsonSchemaRule` in src/core/config/schema/common.ts) laid over it; before `${env:...}`
 * references are allowed, so the key index reads it plainly.
 * @param {import('valibot').GenericSchema} configSchema
 */
export function describedJsonSchema(configSchema) {
  return toJsonSchema(configSchema, { target: 'draft-07', errorMode: 'ignore', overrideAction: layRule });
}

/** @param {{ valibotAction: any, jsonSchema: Record<string, any> }} context */
function layRule({ valibotAction, jsonSchema }) {
  const keywords = valibotAction.type === 'metadata' ? valibotAction.metadata.jsonSchema : undefined;
  if (keywords === undefined) return undefined;
  const { jsonSchema: _copied, ...schema } = jsonSchema;
  for (const [keyword, value] of Object.entries(structuredClone(keywords))) {
    schema[keyword] = keyword === 'allOf' ? [...(schema.allOf ?? []), ...value] : value;
  }
  return schema;
}

/**
 * Lets every constrained string (a pattern, an enum) also hold an `${env:...}` reference, and every
 * number and boolean be one, since such a value is only filled in when the config is loaded.
 * Unconstrained strings take one already. Rules between keys see a reference as a match, so they
 * never flag what the environment may yet make right.
 * @param {any} schema
 * @returns {any}
 */
export function acceptEnvReferences(schema) {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  /** @type {Record<string, any>} */
  const out = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (['properties', 'definitions', '$defs'].includes(keyword)) {
      out[keyword] = Object.fromEntries(Object.entries(value).map(([key, sub]) => [key, acceptEnvReferences(sub)]));
    } else if (['anyOf', 'allOf', 'oneOf'].includes(keyword)) {
      out[keyword] = value.map(acceptEnvReferences);
    } else if (['items', 'additionalProperties', 'contains', 'not', 'if', 'then', 'else'].includes(keyword)) {
      out[keyword] = acceptEnvReferences(value);
    } else {
      out[keyword] = value;
    }
  }
  if (out.anyOf) out.anyOf = flattenAlternatives(out.anyOf);
  const alternative = envAlternative(out);
  if (!alternative) return out;
  /** @type {Record<string, any>} */
  const wrapper = {};
  /** @type {Record<string, any>} */
  const inner = {};
  for (const [keyword, value] of Object.entries(out)) (ANNOTATIONS.includes(keyword) ? wrapper : inner)[keyword] = value;
  return { ...wrapper, anyOf: [inner, alternative] };
}

/** The reference a scalar also takes, if it would refuse one. @param {any} schema */
function envAlternative(schema) {
  if (['number', 'integer', 'boolean'].includes(schema.type)) return ENV_VALUE;
  if ('const' in schema || 'enum' in schema) return ENV_REFERENCE;
  if (schema.type === 'string' && ('pattern' in schema || 'format' in schema || 'maxLength' in schema)) return ENV_REFERENCE;
  return undefined;
}

/** `anyOf` inside `anyOf` spliced into one list, with each env reference once, last. @param {any[]} options */
function flattenAlternatives(options) {
  const flat = options.flatMap((option) => (Object.keys(option).length === 1 && option.anyOf ? option.anyOf : [option]));
  const refs = [ENV_VALUE, ENV_REFERENCE].filter((ref) => flat.some((option) => option.$ref === ref.$ref));
  return [...flat.filter((option) => !refs.some((ref) => option.$ref === ref.$ref)), ...refs];
}
