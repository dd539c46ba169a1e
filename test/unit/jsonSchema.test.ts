import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/configJsonSchema.ts';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';

describe('the JSON Schema for editors', () => {
  it('is the one the current sources generate (run npm run schema when this fails)', () => {
    const committed = JSON.parse(readFileSync(`${PROJECT_ROOT}/schema/switchyard.schema.json`, 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('is referenced from the example config and describes its keys', () => {
    const example = readFileSync(`${PROJECT_ROOT}/examples/loadbalancer.yaml`, 'utf8');
    expect(example).toContain('$schema=../schema/switchyard.schema.json');
    const schema = JSON.parse(readFileSync(`${PROJECT_ROOT}/schema/switchyard.schema.json`, 'utf8'));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['hosts', 'paths']));
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties.hosts.items.properties)).toEqual(expect.arrayContaining(['host', 'servers', 'header_rules', 'firewall_rules']));
  });
});
