/**
 * How many `?` placeholders a MySQL statement has: the `?`s outside string literals ('…', "…"),
 * quoted identifiers (`…`) and comments (`#`, `-- `, `/* … *\/`; the text of an executable
 * comment `/*! … *\/` counts, as the server runs it). MySQL has no `?` operator, so every other
 * `?` is a placeholder. Backslash escapes are read as in the default sql_mode.
 */
export function countPlaceholders(sql: string): number {
  let count = 0;
  const length = sql.length;
  for (let index = 0; index < length; index++) {
    const char = sql[index];
    if (char === '?') count++;
    else if (char === "'" || char === '"' || char === '`') index = closingQuote(sql, index, char);
    else if (char === '#' || (char === '-' && sql[index + 1] === '-' && (index + 2 >= length || /\s/.test(sql[index + 2])))) {
      const end = sql.indexOf('\n', index);
      index = end < 0 ? length : end;
    } else if (char === '/' && sql[index + 1] === '*' && sql[index + 2] !== '!') {
      const end = sql.indexOf('*/', index + 2);
      index = end < 0 ? length : end + 1;
    }
  }
  return count;
}

/** The index of the quote that closes the one at `start` (doubled quotes and backslashes escape). */
function closingQuote(sql: string, start: number, quote: string): number {
  for (let index = start + 1; index < sql.length; index++) {
    const char = sql[index];
    if (char === '\\' && quote !== '`') index++;
    else if (char === quote) {
      if (sql[index + 1] !== quote) return index;
      index++;
    }
  }
  return sql.length;
}

/** "1 placeholder (?)", "no placeholders", "3 placeholders (?)". */
export function describePlaceholders(count: number): string {
  if (count === 0) return 'no placeholders';
  return count === 1 ? '1 placeholder (?)' : `${count} placeholders (?)`;
}
