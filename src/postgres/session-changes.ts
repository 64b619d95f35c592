import { sqlExcerpt } from '../util/sql-excerpt.js';

/**
 * Command tags of statements that leave session state behind them: settings and the role (SET,
 * RESET), LISTENs, prepared statements, cursors declared WITH HOLD, loaded libraries, and
 * DISCARD (which may drop rxpg's own prepared statements); DO blocks and procedures (CALL), whose
 * bodies may run any of those (`EXECUTE 'SET ROLE …'`).
 */
const CHANGING_COMMANDS = new Set(['SET', 'RESET', 'DISCARD', 'LISTEN', 'UNLISTEN', 'PREPARE', 'DEALLOCATE', 'DECLARE', 'LOAD', 'DO', 'CALL']);

/**
 * Statements whose command tag does not tell: `CREATE TEMP TABLE … AS` and `SELECT … INTO TEMP`
 * answer SELECT, and functions called by a SELECT change settings (`set_config`) or take
 * session-level advisory locks (the `_xact_` ones end with the transaction). A false match
 * costs one reset round trip; the text is read as written, literals included.
 */
const CHANGING_TEXT = /\b(?:temp|temporary|pg_temp|set_config|pg_(?:try_)?advisory_lock(?:_shared)?)\b/i;

/**
 * A statement that is one `SET LOCAL` (or `SET TRANSACTION`/`SET CONSTRAINTS`, which last only as
 * long as the transaction): the usual way to scope a setting to a transaction (row-level
 * security's `SET LOCAL app.user_id`), which leaves nothing behind and costs no reset.
 */
const LOCAL_SET = /^\s*SET\s+(?:LOCAL|TRANSACTION|CONSTRAINTS)\s/i;

/**
 * A statement that reads or writes rows and nothing else by its first word (after comments):
 * the only kind another caller's statement may share a pipeline with. CALL, DO, SET and the
 * like may change the session for whatever runs after them on it.
 */
const ROWS_ONLY = /^\s*(?:(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)\s*)*(?:select|insert|update|delete|with|values|table)\b/i;

/** What a statement's text says of the session (see {@link readingOf}). */
interface TextReading {
  /** It may change the session where its command tag does not tell (CHANGING_TEXT). */
  readonly changing: boolean;
  /** It is one SET LOCAL (LOCAL_SET) and nothing else. */
  readonly localSet: boolean;
  /** It touches rows only and changes nothing (see SessionChanges.sharable). */
  readonly rowsOnly: boolean;
}

/** Readings of the texts seen last; emptied when full. */
const readings = new Map<string, TextReading>();
const MAX_READINGS = 512;
/** Longer texts (generated multi-row INSERTs, say) are read every time rather than kept: 512 of them could hold hundreds of MB. */
const MAX_KEPT_TEXT = 4096;

/**
 * What `text` says, read by the regular expressions once per text (up to MAX_KEPT_TEXT long):
 * an application sends the same few texts again and again, and three expressions per statement
 * were a percent of the client's CPU per statement in a batch.
 */
function readingOf(text: string): TextReading {
  let reading = readings.get(text);
  if (reading === undefined) {
    const changing = CHANGING_TEXT.test(text);
    reading = { changing, localSet: LOCAL_SET.test(text) && !text.includes(';'), rowsOnly: !changing && ROWS_ONLY.test(text) };
    if (text.length > MAX_KEPT_TEXT) return reading;
    if (readings.size >= MAX_READINGS) readings.clear();
    readings.set(text, reading);
  }
  return reading;
}

/**
 * The statement that puts a Postgres session back in the state it opened in: what DISCARD ALL
 * does, except that rxpg's own prepared statements (and their plans) survive unless the user
 * prepared statements too. RESET ALL returns every setting to its session default, which for
 * the startup parameters (application_name, options' `-c` settings, statement_timeout) is the
 * value the session was opened with. One simple-protocol text: one round trip.
 */
const RESET = 'CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES';

/**
 * What the statements of a Postgres session changed since the session's state was last the
 * config's: read from each statement's command tags, from its text where tags do not tell, and
 * from the ParameterStatus messages the server sends when a reported setting changes
 * (application_name, TimeZone, is_superuser, session_authorization, …).
 */
export class SessionChanges {
  readonly #forgetPrepared: () => void;
  #change: string | undefined;
  #userPrepared = false;
  /** The statement running is one `SET LOCAL`, whose setting ends with its transaction. */
  #localSet = false;

  /** `forgetPrepared` drops rxpg's cache of prepared statements: the server dropped them. */
  constructor(forgetPrepared: () => void) {
    this.#forgetPrepared = forgetPrepared;
  }

  /** What changed, in a few words; undefined when nothing did. */
  get change(): string | undefined {
    return this.#change;
  }

  /** A statement's text, before it runs. */
  statement(text: string): void {
    const { localSet, changing } = readingOf(text);
    this.#localSet = localSet;
    if (this.#change === undefined && changing) this.#change = `a statement: ${sqlExcerpt(text)}`;
  }

  /** A command tag the server sent for a statement of the user's (or of a reset). */
  command(tag: string): void {
    const space = tag.indexOf(' ');
    const verb = space < 0 ? tag : tag.slice(0, space);
    if (!CHANGING_COMMANDS.has(verb) || (verb === 'SET' && this.#localSet)) return;
    this.#change ??= tag;
    if (verb === 'PREPARE') this.#userPrepared = true;
    // DEALLOCATE (ALL, or a name that may be rxpg's) and DISCARD ALL drop prepared statements
    // at once: rxpg must parse its own again, in this lease already.
    if (verb === 'DEALLOCATE' || tag === 'DISCARD ALL') this.#forgetPrepared();
  }

  /**
   * Whether the session is in its config's state and `text` reads as a statement that leaves
   * none behind (it starts with SELECT, INSERT, UPDATE, DELETE, WITH, VALUES or TABLE and names
   * no set_config, temporary table or session advisory lock): other callers' statements may
   * then share the session's pipeline with it. A function that changes the session from inside
   * (a SET in its body) is not seen.
   */
  sharable(text: string): boolean {
    return this.#change === undefined && readingOf(text).rowsOnly;
  }

  /** A ParameterStatus message after the session was set up: a reported setting changed. */
  parameter(name: string): void {
    this.#change ??= `${name} changed`;
  }

  /** The reset's text; with DEALLOCATE ALL when the user prepared statements. */
  resetStatement(): string {
    return this.#userPrepared ? `${RESET}; DEALLOCATE ALL` : RESET;
  }

  /** The session's state is now its config's. */
  baseline(): void {
    this.#change = undefined;
    this.#userPrepared = false;
  }
}

