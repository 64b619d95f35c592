/**
 * The startup packet's `options` string: the user's own (`options` or `PGOPTIONS`, passed as
 * given, as libpq does), then one `-c name=value` per setting, with spaces and backslashes in
 * values escaped by a backslash as the server's option splitter wants. The server applies the
 * switches in order, so a later setting of the same name wins: the settings come after the
 * user's options because libpq sends them as startup parameters, which the server applies after
 * the options string.
 */
export function startupOptions(userOptions: string | undefined, settings: readonly (readonly [string, string])[]): string | undefined {
  const parts: string[] = [];
  if (userOptions !== undefined && userOptions.trim() !== '') parts.push(userOptions);
  for (const [name, value] of settings) parts.push(`-c ${name}=${value.replace(/[\\\s]/g, (char) => `\\${char}`)}`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}
