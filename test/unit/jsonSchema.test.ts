import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';

describe('the JSON Schema for editors', () => {
  it('is generated from the current config schema (run npm run build when this fails)', async () => {
    await expect(promisify(execFile)(process.execPath, ['scripts/write-json-schema.js', '--check'], { cwd: PROJECT_ROOT })).resolves.toBeDefined();
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
