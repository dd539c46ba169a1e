import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as PEM files in the authority's folder. */
export interface TestCertificate {
  /** Path of the certificate, PEM. */
  readonly cert: string;
  /** Path of its private key, PEM. */
  readonly key: string;
  /** The subject's common name. */
  readonly commonName: string;
}

export interface IssueOptions {
  /** subjectAltName DNS names (`*.w.test` for a wildcard), or IP addresses. @default [commonName] */
  readonly names?: readonly string[];
  /** Organisation in the subject, to tell two certificates for the same names apart. */
  readonly organization?: string;
  /** `YYYYMMDDHHMMSSZ`. @default one day ago */
  readonly notBefore?: string;
  /** `YYYYMMDDHHMMSSZ`. @default thirty days from now */
  readonly notAfter?: string;
  /** File name stem in the folder. @default the common name, `*` spelled `wildcard` */
  readonly stem?: string;
}

/** A throw-away certificate authority in a temporary folder, issuing leaf certificates with Debian's `openssl`. */
export interface TestAuthority {
  /** The folder every file is written to. */
  readonly dir: string;
  /** The CA certificate, PEM: for `curl --cacert` and `openssl s_client -CAfile`. */
  readonly caCert: string;
  /** A leaf certificate for `commonName` (EC P-256, SHA-256), signed by the CA, with the dates asked for. */
  issue(commonName: string, options?: IssueOptions): Promise<TestCertificate>;
}

// `openssl ca` rather than `openssl x509 -req`: OpenSSL 3.0 (Debian 12) has no `-not_before` /
// `-not_after` on x509, while `ca` takes `-startdate` / `-enddate`, so an expired certificate needs
// no fake clock.
const CA_CONFIG = `[ ca ]
default_ca = test
[ test ]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
preserve = yes
[ anything ]
organizationName = optional
commonName = supplied
`;

/** `YYYYMMDDHHMMSSZ`, as `openssl ca -startdate` takes it. */
export function opensslTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

const DAY = 86_400_000;

/** Creates a CA in a new temporary folder (about 50 ms per certificate afterwards). */
export async function createTestAuthority(): Promise<TestAuthority> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-tls-'));
  await mkdir(join(dir, 'db'));
  await writeFile(join(dir, 'db/index.txt'), '');
  await writeFile(join(dir, 'db/serial'), '1000\n');
  await writeFile(join(dir, 'ca.cnf'), CA_CONFIG);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...newKey, '-days', '30', '-subj', '/CN=Switchyard Test CA', '-keyout', 'ca.key', '-out', 'ca.crt']);

  // One at a time: `openssl ca` keeps its serial and index in files.
  let queue: Promise<unknown> = Promise.resolve();
  const issue = async (commonName: string, options: IssueOptions = {}): Promise<TestCertificate> => {
    const stem = options.stem ?? commonName.replace('*', 'wildcard');
    const names = options.names ?? [commonName];
    const subject = `${options.organization ? `/O=${options.organization}` : ''}/CN=${commonName}`;
    const now = Date.now();
    const turn = queue.then(async () => {
      await openssl(['req', '-new', ...newKey, '-subj', subject, '-addext', `subjectAltName=${names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',')}`, '-keyout', `${stem}.key`, '-out', `${stem}.csr`]);
      await openssl([
        'ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', `${stem}.csr`, '-out', `${stem}.crt`,
        '-startdate', options.notBefore ?? opensslTime(new Date(now - DAY)),
        '-enddate', options.notAfter ?? opensslTime(new Date(now + 30 * DAY)),
      ]);
    });
    queue = turn.catch(() => {});
    await turn;
    return { cert: join(dir, `${stem}.crt`), key: join(dir, `${stem}.key`), commonName };
  };
  return { dir, caCert: join(dir, 'ca.crt'), issue };
}
