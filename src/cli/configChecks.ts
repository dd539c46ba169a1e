import { checkListenerTls } from '../server/certificates.ts';
import { checkFilesWith } from '../server/checkFiles.ts';
import { checkBackendTls } from '../upstream/backendTls.ts';

/** What `check`, `serve` and every reload check of the files a config names. */
export const checkConfigFiles = checkFilesWith([checkListenerTls, checkBackendTls]);
