import type { LoadedConfig } from '../core/config/loadConfig.ts';
import { parseAdminAddress, type AdminAddress } from '../admin/startAdmin.ts';

/** The admin listener the config asks for, if any. */
export function configuredAdmin(config: LoadedConfig): AdminAddress | undefined {
  const address = config.config.admin?.address;
  return address === undefined ? undefined : parseAdminAddress(address);
}
