import { resolve } from 'node:path';

/** A failure whose message is written for the user: `describeFailure` prints it as it is, without a stack trace. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

type SystemError = { code?: string; name?: string; syscall?: string };

/**
 * Why the config file at `file` could not be read, naming its absolute path (relative paths are
 * the caller's: the Deno entry point moves to `deno task`'s caller's directory first), or undefined
 * when `error` is not about reading a file.
 */
export function readFailure(error: unknown, file: string): CommandFailure | undefined {
  const { code, name, syscall } = (error ?? {}) as SystemError;
  if (syscall === 'listen' || syscall === 'bind' || syscall === 'getaddrinfo') return undefined;
  const why =
    code === 'ENOENT' || name === 'NotFound'
      ? 'no such file'
      : code === 'EISDIR' || name === 'IsADirectory'
        ? 'it is a directory; --config takes a file'
        : code === 'EACCES' || code === 'EPERM' || name === 'PermissionDenied'
          ? 'permission denied'
          : name === 'NotCapable'
            ? 'Deno was not given --allow-read'
            : undefined;
  return why ? new CommandFailure(`cannot read ${resolve(file)}: ${why}`, { cause: error }) : undefined;
}

/**
 * Why the server could not listen on `hostname:port`, naming the address, or undefined when `error`
 * is not about listening.
 */
export function listenFailure(error: unknown, hostname: string, port: number): CommandFailure | undefined {
  const { code, name } = (error ?? {}) as SystemError;
  const why =
    code === 'EADDRINUSE' || name === 'AddrInUse'
      ? 'address already in use'
      : code === 'EADDRNOTAVAIL' || name === 'AddrNotAvailable'
        ? 'no network interface of this machine has that address'
        : code === 'EACCES' || code === 'EPERM' || name === 'PermissionDenied'
          ? `permission denied${port > 0 && port < 1024 ? ' (ports below 1024 need privileges)' : ''}`
          : code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_NODATA' || code === 'EAI_FAIL'
            ? 'the host name cannot be resolved'
            : code === 'EAI_AGAIN'
              ? 'the host name cannot be resolved (DNS did not answer)'
              : undefined;
  return why ? new CommandFailure(`cannot listen on ${hostPort(hostname, port)}: ${why}`, { cause: error }) : undefined;
}

/**
 * Refuses, before any lookup, a `--hostname` that can never resolve: names under `.invalid`
 * (RFC 6761 section 6.4: resolvers should answer them negatively at once, and not all do).
 */
export function unresolvableHost(hostname: string, port: number): CommandFailure | undefined {
  return /(^|\.)invalid\.?$/i.test(hostname) ? new CommandFailure(`cannot listen on ${hostPort(hostname, port)}: the host name cannot be resolved`) : undefined;
}

function hostPort(hostname: string, port: number): string {
  return `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
}
