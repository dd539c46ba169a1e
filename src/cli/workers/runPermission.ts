interface DenoPermissions {
  execPath(): string;
  permissions: { querySync(descriptor: { name: 'run'; command: string }): { state: string } };
}

/**
 * Under Deno, why workers cannot be forked: node:cluster starts each one as a subprocess of the
 * deno binary, which needs run permission for it (`--allow-run` in the
 * serve task of deno.json). Undefined on Node, or when it is granted.
 */
export function runPermissionRefused(): string | undefined {
  const deno = (globalThis as { Deno?: DenoPermissions }).Deno;
  if (!deno || deno.permissions.querySync({ name: 'run', command: deno.execPath() }).state === 'granted') return undefined;
  return `--workers needs permission to run ${deno.execPath()} under Deno, to start the workers: add --allow-run=${deno.execPath()} to deno run (the serve task of deno.json has it), or serve without --workers`;
}
