import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, describedJsonSchema } from '../../scripts/configJsonSchema.js';
import { configKeyIndex, configKeys, keyIndexIn } from '../../scripts/configKeyIndex.js';
import { configSchema } from '../../src/core/config/schema/index.ts';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';

const committedSchema = () => JSON.parse(readFileSync(`${PROJECT_ROOT}/schema/switchyard.schema.json`, 'utf8'));

describe('the JSON Schema for editors', () => {
  it('is the one the current sources generate (run npm run schema when this fails)', () => {
    expect(committedSchema()).toEqual(JSON.parse(JSON.stringify(configJsonSchema(configSchema))));
  });

  it('is referenced from the example config and describes its keys', () => {
    const example = readFileSync(`${PROJECT_ROOT}/examples/loadbalancer.yaml`, 'utf8');
    expect(example).toContain('$schema=../schema/switchyard.schema.json');
    const schema = committedSchema();
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['hosts', 'paths']));
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties.hosts.items.properties)).toEqual(expect.arrayContaining(['host', 'servers', 'header_rules', 'firewall_rules']));
  });

  it('gives every key, at every depth, a one-line description for the editor to show', () => {
    const undescribed: string[] = [];
    const visit = (schema: unknown, path: string): void => {
      if (typeof schema !== 'object' || schema === null) return;
      for (const [keyword, value] of Object.entries(schema)) {
        if (keyword === 'properties') {
          for (const [key, sub] of Object.entries(value as Record<string, { description?: unknown }>)) {
            // Rules between keys name keys with `true`; the key's own schema has the description.
            if (typeof sub === 'object' && (typeof sub.description !== 'string' || /^\s*$|\n/.test(sub.description)) && !path.includes('allOf')) {
              undescribed.push(`${path}.${key}`);
            }
            visit(sub, `${path}.${key}`);
          }
        } else {
          visit(value, `${path}/${keyword}`);
        }
      }
    };
    visit(committedSchema(), '');
    expect(undescribed).toEqual([]);
    expect(configKeys(describedJsonSchema(configSchema)).length).toBeGreaterThan(80);
  });
});

describe('the key index of docs/configuration.md', () => {
  const page = () => readFileSync(`${PROJECT_ROOT}/docs/configuration.md`, 'utf8');

  it('is the one the schema descriptions generate (run npm run schema when this fails)', () => {
    expect(keyIndexIn(page())).toEqual(configKeyIndex(describedJsonSchema(configSchema)));
  });

  it('lists nested keys, and where each may be set', () => {
    const keys = configKeys(describedJsonSchema(configSchema));
    const where = (path: string) => keys.filter((key) => key.path === path).map(({ route, top }) => ({ route, top }));
    expect(where('servers[].weight')).toEqual([{ route: true, top: false }]);
    expect(where('health_check.expected_status')).toEqual([{ route: true, top: true }]);
    expect(where('timeouts.client_send')).toEqual([{ route: false, top: true }]);
    expect(where('limits.max_header_size')).toEqual([{ route: false, top: true }]);
    expect(where('rewrite_rules.regex[].pattern')).toEqual([{ route: true, top: true }]);
  });
});

describe('the build', () => {
  it('compiles nothing into dist/ that imports a dev dependency (the JSON Schema writer lives in scripts/)', () => {
    const { devDependencies } = JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8'));
    const build = JSON.parse(readFileSync(`${PROJECT_ROOT}/tsconfig.build.json`, 'utf8'));
    const excluded = (build.exclude as string[]).map((path) => join(PROJECT_ROOT, path));
    const offenders: string[] = [];
    const visit = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (excluded.some((exclude) => path === exclude || path === `${exclude}.ts`)) continue;
        if (entry.isDirectory()) visit(path);
        else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) {
          const text = readFileSync(path, 'utf8');
          const specifiers = [...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm), ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)];
          for (const [, specifier] of specifiers) {
            const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
            if (name in devDependencies) offenders.push(`${path.slice(PROJECT_ROOT.length)} imports ${specifier}`);
          }
        }
      }
    };
    visit(join(PROJECT_ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
