/**
 * Under Deno, why workers cannot be forked: node:cluster starts each one as a subprocess, which
 * needs run permission (`--allow-run`, in the serve task of deno.json). Undefined on Node, or
 * when it is granted.
 */
export function runPermissionRefused(): string | undefined {
  const deno = (globalThis as { Deno?: { permissions: { querySync(descriptor: { name: 'run' }): { state: string } } } }).Deno;
  if (!deno || deno.permissions.querySync({ name: 'run' }).state === 'granted') return undefined;
  return '--workers needs run permission under Deno, to start the workers: add --allow-run to the serve task (deno.json), or serve without --workers';
}
