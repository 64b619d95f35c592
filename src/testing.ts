// The `rxpg/testing` entry: an in-memory, scriptable driver for marble-testing pipelines built on
// PgManager without a database: `new PgManager({ driver: new ScriptedDriver() })`.
export { ScriptedDriver, ScriptedConnection, type ScriptedResult, type SentStatement } from './testing/scripted-driver.js';
