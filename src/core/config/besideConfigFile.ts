/**
 * A file name from the config as the runtime opens it: an absolute one as written, a relative one
 * taken from the config file's directory (as nginx takes them from its prefix), so that a config
 * means the same files whatever directory the balancer starts in. Text only: the core knows no
 * file system, and a config file named without a directory leaves the name as it is.
 * @param configFile the config's file name as it was loaded; undefined leaves `name` as written
 * @example besideConfigFile('/etc/switchyard/lb.yaml', 'certs/ca.pem') // '/etc/switchyard/certs/ca.pem'
 */
export function besideConfigFile(configFile: string | undefined, name: string): string {
  if (configFile === undefined || /^(?:[/\\]|[A-Za-z]:[/\\])/.test(name)) return name;
  const slash = Math.max(configFile.lastIndexOf('/'), configFile.lastIndexOf('\\'));
  return configFile.slice(0, slash + 1) + name;
}
