import { ConfigurationError } from '../../errors/configuration-error.js';
import { redactSecrets } from '../../util/redact.js';

/** One `key=value` of a connection string, in the order given (a later one wins). */
export type ConnEntry = readonly [key: string, value: string];

/**
 * Parses a `postgres://` or `postgresql://` URL as libpq does (34.1.1.2 Connection URIs), not
 * with Node's URL, which cannot read host lists: `postgresql://u:pw@h1:5432,[::1]:5433/db?k=v`.
 * Every part is percent-decoded (bytes, then UTF-8); a host list becomes `host=h1,::1` and
 * `port=5432,5433`; `?ssl=true` means `sslmode=require`. Query keys are returned unchecked.
 * Errors name the position, never the password.
 */
export function parsePostgresUrl(text: string, conn: string): ConnEntry[] {
  const fail = (problem: string): never => {
    throw new ConfigurationError(
      `Connection '${conn}': connectionString ${problem}: '${redactSecrets(text)}'. ` +
        `Write it as postgresql://user:password@host:5432,host2:5432/database?key=value, percent-encoding special characters.`,
      { conn },
    );
  };
  const prefix = /^postgres(?:ql)?:\/\//.exec(text);
  if (!prefix) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1];
    if (scheme !== undefined) {
      throw new ConfigurationError(`Connection '${conn}': connectionString must start with postgres:// or postgresql://, got '${scheme}://'.`, { conn });
    }
    return fail('is not a postgres:// URL');
  }
  const entries: [string, string][] = [];
  const decode = (part: string): string => percentDecode(part, fail);
  let rest = text.slice(prefix[0].length);

  // Credentials: libpq looks for '@' before the first '/', not only before '?'.
  const slash = rest.indexOf('/');
  const at = rest.indexOf('@');
  if (at !== -1 && (slash === -1 || at < slash)) {
    const credentials = rest.slice(0, at);
    const colon = credentials.indexOf(':');
    const user = colon === -1 ? credentials : credentials.slice(0, colon);
    if (user !== '') entries.push(['user', decode(user)]);
    if (colon !== -1) {
      const password = credentials.slice(colon + 1);
      if (password !== '') entries.push(['password', decode(password)]);
    }
    rest = rest.slice(at + 1);
  }

  // Hosts: h, h:p, [v6], [v6]:p, separated by commas.
  const hosts: string[] = [];
  const ports: string[] = [];
  let index = 0;
  let stop = '';
  for (;;) {
    let host: string;
    if (rest[index] === '[') {
      const close = rest.indexOf(']', index);
      if (close === -1) fail('has a "[" with no matching "]" around an IPv6 host');
      host = rest.slice(index + 1, close);
      if (host === '') fail('has an empty IPv6 host "[]"');
      index = close + 1;
      if (index < rest.length && !':/?,'.includes(rest[index])) fail(`has "${rest[index]}" after an IPv6 host where ":", ",", "/" or "?" belongs`);
    } else {
      const start = index;
      while (index < rest.length && !':/?,'.includes(rest[index])) index++;
      host = rest.slice(start, index);
    }
    hosts.push(decode(host));
    let port = '';
    if (rest[index] === ':') {
      const start = ++index;
      while (index < rest.length && !'/?,'.includes(rest[index])) index++;
      port = decode(rest.slice(start, index));
    }
    ports.push(port);
    stop = rest[index] ?? '';
    if (stop !== ',') break;
    index++;
  }
  if (hosts.some((host) => host !== '')) entries.push(['host', hosts.join(',')]);
  if (ports.some((port) => port !== '')) entries.push(['port', ports.join(',')]);

  if (stop === '/') {
    const start = ++index;
    while (index < rest.length && rest[index] !== '?') index++;
    const dbname = rest.slice(start, index);
    if (dbname !== '') entries.push(['dbname', decode(dbname)]);
    stop = rest[index] ?? '';
  }
  if (stop === '?') {
    for (const pair of rest.slice(index + 1).split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      // Not shown when the query has a password: an unencoded & in it makes a "parameter" of its tail.
      if (equals === -1) fail(`has a query parameter without "=" (${/password/i.test(rest) ? 'not shown: the query has a password' : `'${decode(pair)}'`})`);
      if (pair.indexOf('=', equals + 1) !== -1) fail(`has a query parameter with a second "=" (percent-encode it as %3D)`);
      const key = decode(pair.slice(0, equals));
      const value = decode(pair.slice(equals + 1));
      // libpq reads JDBC's ssl=true as sslmode=require.
      if (key === 'ssl' && value === 'true') entries.push(['sslmode', 'require']);
      else entries.push([key, value]);
    }
  }
  return entries;
}

/** libpq's percent-decoding: `%XX` with two hex digits, `%00` refused, `+` left as it is. */
function percentDecode(part: string, fail: (problem: string) => never): string {
  if (!part.includes('%')) return part;
  const chunks: Buffer[] = [];
  let last = 0;
  for (let index = part.indexOf('%'); index !== -1; index = part.indexOf('%', last)) {
    const hex = part.slice(index + 1, index + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail('has an invalid percent-encoding (write % as %25)');
    if (hex === '00') fail('has %00, which libpq does not allow');
    chunks.push(Buffer.from(part.slice(last, index), 'utf8'), Buffer.from([parseInt(hex, 16)]));
    last = index + 3;
  }
  chunks.push(Buffer.from(part.slice(last), 'utf8'));
  return Buffer.concat(chunks).toString('utf8');
}
