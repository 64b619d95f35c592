/**
 * Replaces the password in a connection URL or libpq keyword string with `***`. In a URL
 * everything from the first `:` after `//` to the last `@` goes, so a password with an
 * unencoded `/`, `?`, `#` or `@` is hidden too (at worst, more than the password is).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\/\/[^:/?#@\s]*:)\S*@/g, '$1***@')
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, '$1***');
}
