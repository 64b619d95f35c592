import { isIP } from 'node:net';
import { ConfigurationError } from '../../errors/configuration-error.js';
import type { PostgresHost } from '../postgres-connection-params.js';

/** Where rxpg connects when no host is given: TCP to localhost (libpq's default is its compiled-in socket folder). */
export const DEFAULT_HOST = 'localhost';
export const DEFAULT_PORT = 5432;

/**
 * libpq's host, hostaddr and port lists (34.1.1.3 Specifying Multiple Hosts): comma-separated;
 * `hostaddr`, when given, says how many hosts there are and `host` must then have as many
 * entries; `port` has one entry for all or one per host; an empty entry means the default
 * (host `localhost`, port 5432). A host starting with `/` is a unix-socket folder.
 */
export function hostList(host: string | undefined, hostaddr: string | undefined, port: string | undefined, conn: string): PostgresHost[] {
  const fail = (message: string): never => {
    throw new ConfigurationError(`Connection '${conn}': ${message}.`, { conn });
  };
  const hosts = host !== undefined && host !== '' ? host.split(',') : undefined;
  const addrs = hostaddr !== undefined && hostaddr !== '' ? hostaddr.split(',') : undefined;
  const count = addrs?.length ?? hosts?.length ?? 1;
  if (hosts && addrs && hosts.length !== addrs.length) fail(`could not match ${hosts.length} host names to ${addrs.length} hostaddr values; give as many of each`);
  const ports = port !== undefined && port !== '' ? port.split(',') : undefined;
  if (ports && ports.length !== 1 && ports.length !== count) fail(`could not match ${ports.length} port numbers to ${count} hosts; give one port, or one per host`);
  const list: PostgresHost[] = [];
  for (let index = 0; index < count; index++) {
    const addr = addrs?.[index]?.trim() || undefined;
    if (addr !== undefined && isIP(addr) === 0) fail(`hostaddr '${addr}' is not a numeric IPv4 or IPv6 address; give a name as host instead`);
    const portText = (ports?.length === 1 ? ports[0] : ports?.[index])?.trim() ?? '';
    let number = DEFAULT_PORT;
    if (portText !== '') {
      number = /^\d+$/.test(portText) ? Number(portText) : NaN;
      if (!(number >= 1 && number <= 65535)) fail(`port must be an integer from 1 to 65535, got '${portText}'`);
    }
    list.push({ host: hosts?.[index]?.trim() || addr || DEFAULT_HOST, hostaddr: addr, port: number });
  }
  return list;
}
