import type { LoadedConfig } from '../core/config/loadConfig.ts';
import { hostPort, isLoopback, type AdminAddress } from '../admin/startAdmin.ts';
import { configuredAdmin } from './configuredAdmin.ts';

/**
 * What a reload may do to the admin listener, for `serve` and for the primary of `--workers`:
 * it cannot stop it, and off loopback it cannot take its token away.
 * @param flag `--admin`, which wins over the config's `admin.address`
 * @returns where the reloaded config wants the admin listener
 */
export function checkAdminReload(next: LoadedConfig, flag: AdminAddress | undefined): AdminAddress {
  const wanted = flag ?? configuredAdmin(next);
  if (!wanted) throw new Error('admin: the admin listener cannot be stopped by a reload; restart without it');
  if (!isLoopback(wanted.host) && next.config.admin?.token === undefined) throw new Error(`admin.token: the admin listener on ${hostPort(wanted)} is not on loopback, so it needs a token`);
  return wanted;
}
