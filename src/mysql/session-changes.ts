import { sqlExcerpt } from '../util/sql-excerpt.js';

/** The first one or two words of a statement, past leading comments and parentheses; an executable comment's (`/*!40101 SET …`) text counts as code, as the server runs it. */
const LEADING_WORDS = /^(?:\s|\(|\/\*![0-9]*|\/\*(?!!)[\s\S]*?\*\/|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$))*([A-Za-z_]+)(?:\s+([A-Za-z_]+))?/;

/**
 * Statements that leave session state behind them, by their first word: settings, the role,
 * names and the character set (SET), the default database (USE), prepared statements of the
 * user's (PREPARE, DEALLOCATE, DROP PREPARE), table locks (LOCK TABLES), open handlers, and
 * procedures (CALL), whose bodies may do any of it.
 */
const CHANGING_FIRST_WORDS = new Set(['SET', 'USE', 'PREPARE', 'DEALLOCATE', 'LOCK', 'HANDLER', 'CALL']);

/**
 * What a statement's first words do not tell: temporary tables (CREATE TEMPORARY TABLE, also
 * inside other statements), named locks (GET_LOCK) and user variables (`@total := …`, `INTO
 * @x`; an `@` inside a word, as in an e-mail address, is not one). A false match costs a new
 * session.
 */
const CHANGING_TEXT = /\b(?:temporary|get_lock)\b|(?<![@\w$.])@[A-Za-z_$`'"]/i;

/**
 * What the statements of a MySQL/MariaDB session changed since its state was last the config's,
 * read from their text: the server reports session state changes only where
 * `session_track_state_change` is on, which MariaDB and MySQL leave off by default.
 */
export class SessionChanges {
  #change: string | undefined;
  /** A bare SET TRANSACTION shapes the session's next transaction: a change until one begins. */
  #nextTransaction: string | undefined;

  get change(): string | undefined {
    return this.#change ?? this.#nextTransaction;
  }

  /** A statement's text, before it runs. */
  statement(text: string): void {
    const words = LEADING_WORDS.exec(text);
    const first = words?.[1]?.toUpperCase();
    const second = words?.[2]?.toUpperCase();
    if (first === 'SET' && second === 'TRANSACTION') {
      // rxpg's own BEGIN is SET TRANSACTION … then START TRANSACTION, which consumes it.
      this.#nextTransaction = `a statement: ${sqlExcerpt(text)}`;
      return;
    }
    if ((first === 'START' && second === 'TRANSACTION') || first === 'BEGIN') this.#nextTransaction = undefined;
    if (this.#change !== undefined) return;
    // SET STATEMENT … FOR is MariaDB's per-statement setting: nothing outlives the statement.
    const changing = first !== undefined && CHANGING_FIRST_WORDS.has(first) && !(first === 'SET' && second === 'STATEMENT');
    if (changing || (first === 'DROP' && second === 'PREPARE') || CHANGING_TEXT.test(text)) this.#change = `a statement: ${sqlExcerpt(text)}`;
  }

  /** The session's state is now its config's. */
  baseline(): void {
    this.#change = undefined;
    this.#nextTransaction = undefined;
  }
}

