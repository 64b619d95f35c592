import { ConfigurationError } from '../errors/configuration-error.js';
import { didYouMean } from '../util/nearest-name.js';
import type { ConnConfig } from './conn-config.js';

/** Named connection configs of one manager. */
export class ConnRegistry {
  readonly #configs = new Map<string, ConnConfig>();

  add(config: ConnConfig): void {
    if (this.#configs.has(config.name)) {
      throw new ConfigurationError(
        `Connection '${config.name}' is already registered. Pick another name, or call destroyConn('${config.name}') first.`,
        { conn: config.name },
      );
    }
    this.#configs.set(config.name, config);
  }

  has(name: string): boolean {
    return this.#configs.has(name);
  }

  /** The config called `name`; a ConfigurationError naming the registered ones if there is none. */
  get(name: string): ConnConfig {
    const config = this.#configs.get(name);
    if (config !== undefined) return config;
    const names = [...this.#configs.keys()];
    throw new ConfigurationError(
      names.length === 0
        ? `Unknown connection '${name}': no connection is registered yet. Call createConn({ name: '${name}', … }) first.`
        : `Unknown connection '${name}'${didYouMean(name, names)}. Registered: ${names.map((n) => `'${n}'`).join(', ')}.`,
      { conn: name },
    );
  }

  delete(name: string): void {
    this.#configs.delete(name);
  }

  names(): string[] {
    return [...this.#configs.keys()];
  }
}
