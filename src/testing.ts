// The `rxpg/testing` entry: an in-memory, scriptable driver for marble-testing pipelines built on
// PgManager or MyManager without a database: `new PgManager({ driver: new ScriptedDriver() })`.
// It imports no backend: error codes map to reasons through the `reasonFor` it is given.
export { ScriptedDriver, ScriptedConnection, SCRIPTED_RESET, type ScriptedDriverOptions, type ScriptedError, type ScriptedResult, type SentStatement } from './testing/scripted-driver.js';
