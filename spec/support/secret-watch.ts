// Preloaded into every test process by scripts/run-tests.ts: watches everything the suite
// inspects (util.inspect, hence assertion messages and reporters), stringifies (JSON.stringify)
// and prints (stdout, stderr) for a test password, and fails the process if one ever appears.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { SECRET_MARKER } from './secrets.js';

const require = createRequire(import.meta.url);
const util = require('node:util') as typeof import('node:util');
const hits: string[] = [];

function check(text: unknown, where: string): void {
  if (typeof text === 'string' && text.includes(SECRET_MARKER)) hits.push(`${where}: ${text.slice(0, 400)}`);
}

const originalInspect = util.inspect;
const watchedInspect = function (this: unknown, ...args: Parameters<typeof util.inspect>) {
  const out = originalInspect.apply(this, args);
  check(out, 'util.inspect');
  return out;
} as typeof util.inspect;
for (const key of Reflect.ownKeys(originalInspect)) {
  const descriptor = Object.getOwnPropertyDescriptor(originalInspect, key);
  if (descriptor && key !== 'length' && key !== 'name' && key !== 'prototype') Object.defineProperty(watchedInspect, key, descriptor);
}
util.inspect = watchedInspect;
syncBuiltinESMExports();

const originalStringify = JSON.stringify;
JSON.stringify = function (this: unknown, ...args: Parameters<typeof JSON.stringify>) {
  const out = originalStringify.apply(this, args);
  check(out, 'JSON.stringify');
  return out;
} as typeof JSON.stringify;

const originalErrorWrite = process.stderr.write.bind(process.stderr);
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    check(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '', `${stream === process.stdout ? 'stdout' : 'stderr'}`);
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

process.on('exit', () => {
  if (hits.length === 0) return;
  originalErrorWrite(`\nA test password was printed, inspected or stringified ${hits.length} time(s):\n- ${hits.slice(0, 5).join('\n- ')}\n`);
  process.exitCode = 1;
});
