/** Replaces the password in a connection URL or libpq keyword string with `***`. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\/\/[^:/?#@\s]*:)[^@/?#\s]*@/g, '$1***@')
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, '$1***');
}
