import type { ConnectionParams } from '../driver/connection-params.js';

/**
 * Whether the sessions of one config name their prepared statements: `createConn`'s `prepare`,
 * until a session finds that its server connection does not keep them (a transaction pooler)
 * and switches the whole config to unnamed statements, for good.
 */
export class PrepareMode {
  #named: boolean;

  constructor(named: boolean) {
    this.#named = named;
  }

  get named(): boolean {
    return this.#named;
  }

  /** Sessions send unnamed statements from now on. True for the call that switched (it reports it). */
  switchToUnnamed(): boolean {
    const switched = this.#named;
    this.#named = false;
    return switched;
  }
}

// One per config: every session of a config is opened with the same (frozen) params object.
const modes = new WeakMap<ConnectionParams, PrepareMode>();

/** The prepare mode shared by the sessions opened with `params`. */
export function prepareModeFor(params: ConnectionParams): PrepareMode {
  let mode = modes.get(params);
  if (mode === undefined) {
    mode = new PrepareMode(params.prepare !== false);
    modes.set(params, mode);
  }
  return mode;
}

/** SQLSTATEs of a Bind to a name the server connection lacks (26000) and a Parse of one it has (42P05). */
const STALE_NAME_STATES = new Set(['26000', '42P05']);

/**
 * Whether `error` says that the server connection did not keep rxpg's prepared statement `name`
 * (or has one of that name it did not get from this session): the mark of a transaction pooler.
 * The code decides; the name, which the server quotes verbatim in every language, makes sure the
 * error is about rxpg's statement and not one the user's SQL named (`EXECUTE x`).
 */
export function isStaleName(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' && STALE_NAME_STATES.has(code) && typeof message === 'string' && message.includes(`"${name}"`);
}
