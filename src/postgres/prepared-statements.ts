import { randomBytes } from 'node:crypto';

/** The columns a prepared statement's result has, as its first RowDescription gave them. */
export interface PreparedColumn {
  readonly name: string;
  readonly tableID: number;
  readonly columnID: number;
  readonly dataTypeID: number;
}

/** One server-side prepared statement of a session. */
export interface PreparedStatement {
  /** The server-side name. */
  readonly name: string;
  /**
   * Its result's columns once a run described them: later runs need no Describe. The server
   * keeps them: a named statement whose result would change type fails ("cached plan must not
   * change result type", 0A000) and is then forgotten and parsed again.
   */
  columns: readonly PreparedColumn[] | undefined;
}

/** What a statement needs to know to use (or create) its server-side prepared statement. */
export interface PreparedUse {
  /** The server-side name. */
  readonly name: string;
  readonly statement: PreparedStatement;
  /** False the first time: Parse it under `name` now. */
  readonly parsed: boolean;
  /** Statements to Close first (evicted from the cache, or failed). */
  readonly closeFirst: readonly string[];
}

const MAX_PREPARED = 128;

/** Nothing to close first. */
const NOTHING: readonly string[] = Object.freeze([]);

/** A statement in the cache: when it was used last, and its answer for a use with nothing to close. */
interface CachedStatement extends PreparedStatement {
  usedAt: number;
  parsedUse: PreparedUse | undefined;
}

/** This process's mark in statement names, so that no two processes behind one pooler share a name. */
const PROCESS = randomBytes(4).toString('hex');
let sessions = 0;

/**
 * The named prepared statements of one session, so a statement text is parsed and planned by the
 * server once and then only bound and executed, as pgbench -M prepared does. Names are never
 * reused; an evicted or failed one is Closed before the next statement.
 *
 * A name is unique to this session of this process (`rxpg_<process>_<session>_<n>`): behind a
 * transaction pooler, a server connection that another session prepared its statements on must
 * answer a Bind with "does not exist", never bind that session's statement under a name both
 * numbered alike.
 */
export class PreparedStatements {
  /**
   * Whether a statement's columns are kept after its first run, so later runs skip Describe:
   * on servers that refuse a named statement whose result type changed (PostgreSQL and its
   * forks that share its plan cache), not on CockroachDB, which is not known to.
   */
  readonly keepsColumns: boolean;
  readonly #prefix = `rxpg_${PROCESS}_${(++sessions).toString(36)}_`;
  readonly #byText = new Map<string, CachedStatement>();
  #toClose: string[] = [];
  #next = 1;
  /** Counts uses: each statement's stamp says when it was used last, so eviction takes the oldest without reordering the map on every use. */
  #uses = 0;

  constructor(keepsColumns = true) {
    this.keepsColumns = keepsColumns;
  }

  /** The prepared statement for `text`, creating its name on first use. */
  use(text: string): PreparedUse {
    const known = this.#byText.get(text);
    if (known !== undefined) {
      known.usedAt = ++this.#uses;
      // Nothing to close first (nearly always): the same answer as last time, no allocation.
      if (this.#toClose.length === 0) return (known.parsedUse ??= Object.freeze({ name: known.name, statement: known, parsed: true, closeFirst: NOTHING }));
      return { name: known.name, statement: known, parsed: true, closeFirst: this.#takeToClose() };
    }
    const closeFirst = this.#takeToClose();
    const statement: CachedStatement = { name: `${this.#prefix}${(this.#next++).toString(36)}`, columns: undefined, usedAt: ++this.#uses, parsedUse: undefined };
    this.#byText.set(text, statement);
    if (this.#byText.size > MAX_PREPARED) {
      const [oldestText, oldest] = this.#leastRecentlyUsed();
      this.#byText.delete(oldestText);
      closeFirst.push(oldest.name);
    }
    return { name: statement.name, statement, parsed: false, closeFirst };
  }

  #takeToClose(): string[] {
    const names = this.#toClose;
    this.#toClose = [];
    return names;
  }

  /** The entry used longest ago: a scan of at most MAX_PREPARED + 1 entries, once per statement evicted. */
  #leastRecentlyUsed(): [string, CachedStatement] {
    let oldest: [string, CachedStatement] | undefined;
    for (const entry of this.#byText) if (oldest === undefined || entry[1].usedAt < oldest[1].usedAt) oldest = entry;
    return oldest as [string, CachedStatement];
  }

  /**
   * Whether `text` is parsed and described on this session (a run of it completed): a statement
   * pipelined behind others may bind it then, since its Parse cannot fail any more and its rows
   * need no Describe. A Bind of a name whose Parse is still in flight would fail with the
   * stale-name mark if that Parse failed.
   */
  isReady(text: string): boolean {
    return this.#byText.get(text)?.columns !== undefined;
  }

  /**
   * The server may have dropped them (DEALLOCATE, DISCARD ALL): parse every text again. Their
   * names are Closed before the next statement, which is no error for names already gone.
   */
  forgetAll(): void {
    for (const { name } of this.#byText.values()) this.#toClose.push(name);
    this.#byText.clear();
  }

  /** The statement failed: forget it (its plan may be stale, or its Parse may have failed). */
  forget(text: string): void {
    const statement = this.#byText.get(text);
    if (statement === undefined) return;
    this.#byText.delete(text);
    this.#toClose.push(statement.name);
  }
}
