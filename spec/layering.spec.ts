// The layering the design promises: generic code never imports a backend, backends never import
// each other, and nothing imports a layer above its own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const SRC = 'src';

/** Lower rank = lower layer. A folder may import its own layer and any lower one. */
const RANK: Readonly<Record<string, number>> = {
  util: 0, errors: 0, rows: 0,
  driver: 1,
  events: 2,
  operators: 3, pool: 3,
  manager: 4,
  postgres: 5, mysql: 5, testing: 5,
  cli: 6,
  opentelemetry: 5,
};
const BACKENDS = new Set(['postgres', 'mysql', 'testing']);
/** Programs on top of the library: they pick a backend at run time, so they may import each. */
const APPLICATIONS = new Set(['cli']);
/** Which folders may load each backend client library. */
const PACKAGE_OWNERS: Readonly<Record<string, string>> = { pg: 'postgres', mysql2: 'mysql', '@opentelemetry/api': 'opentelemetry' };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder under src/ of a path, or '' for an entry file (index.ts, mysql.ts, testing.ts). */
function layerOf(path: string): string {
  const parts = relative(SRC, path).split('/');
  return parts.length > 1 ? parts[0] : '';
}

/** Every way `from` breaks the layering, given its text. */
function violations(from: string, text: string): string[] {
  const found: string[] = [];
  const layer = layerOf(from);
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
    const spec = match[1];
    if (spec.startsWith('.')) {
      const target = layerOf(join(from, '..', spec));
      if (layer === '' || target === layer) continue;
      if (target === '') found.push(`${from} imports the entry ${spec}`);
      else if (RANK[target] > RANK[layer]) found.push(`${from} (${layer}) imports upward: ${spec}`);
      else if (BACKENDS.has(target) && target !== layer && !APPLICATIONS.has(layer)) found.push(`${from} (${layer}) imports another backend: ${spec}`);
    } else {
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const owner = PACKAGE_OWNERS[name];
      if (owner !== undefined && layer !== owner) found.push(`${from} (${layer || 'entry'}) loads ${name}, which only ${owner}/ may`);
    }
  }
  return found;
}

describe('layering of src/', () => {
  it('knows every folder of src/', () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    assert.deepEqual(folders.filter((folder) => RANK[folder] === undefined), [], 'every folder has a layer');
  });

  it('finds the breaches it is meant to find (positive controls)', () => {
    assert.equal(violations('src/manager/x.ts', "import { PgConnection } from '../postgres/pg-connection.js';").length, 1);
    assert.equal(violations('src/pool/x.ts', "import type { Connection } from '../manager/connection.js';").length, 1);
    assert.equal(violations('src/mysql/x.ts', "import { toRxpgError } from '../postgres/pg-error.js';").length, 1);
    assert.equal(violations('src/testing/x.ts', "import { reasonForSqlState } from '../postgres/sqlstate-reason.js';").length, 1);
    assert.equal(violations('src/manager/x.ts', "import pg from 'pg';").length, 1);
    assert.equal(violations('src/manager/x.ts', "import { trace } from '@opentelemetry/api';").length, 1);
    assert.equal(violations('src/index.ts', "import { trace } from '@opentelemetry/api';").length, 1);
    assert.equal(violations('src/opentelemetry/x.ts', "import { trace } from '@opentelemetry/api';").length, 0);
    assert.equal(violations('src/postgres/listen/x.ts', "import { Session } from '../../pool/session.js';").length, 0);
  });

  it('holds for every file: generic code names no backend, and nothing imports upward', () => {
    const all = files(SRC);
    assert.ok(all.length > 50, `read the tree (${all.length} files)`);
    let imports = 0;
    const found = all.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      imports += [...text.matchAll(/from\s*'/g)].length;
      return violations(file, text);
    });
    assert.ok(imports > 150, `saw the imports (${imports})`);
    assert.deepEqual(found, []);
  });
});
