// Type-checks TypeScript files as a user's project would: strict, ESM, `nodenext`, with
// 'rxpg', 'rxpg/mysql' and 'rxpg/testing' resolved to this checkout's entry points in src/ (the
// same modules `npm run build` compiles into dist/), so it needs no build and is never stale.
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The package's public entry points, as a user imports them, and the source behind each. */
export const ENTRY_POINTS: Readonly<Record<string, string>> = {
  rxpg: join(ROOT, 'src/index.ts'),
  'rxpg/mysql': join(ROOT, 'src/mysql.ts'),
  'rxpg/testing': join(ROOT, 'src/testing.ts'),
};

/** What a user's tsconfig would say: strict ESM on Node, nothing lenient. */
const USER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  strict: true,
  skipLibCheck: true,
  noEmit: true,
  // Only these three specifiers: a deep import such as 'rxpg/src/…' does not resolve, as for a user.
  paths: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([specifier, file]) => [specifier, [file]])),
};

/** One diagnostic of a checked file, with its 1-based line. */
export interface TypeProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/**
 * Type-checks `files` (absolute paths; they must lie inside the repository, so that 'rxjs' and
 * 'pg' resolve from its node_modules) in one program. Returns the problems of those files, and
 * separately any in the rest of the program (src/ itself failing under a user's settings).
 */
export function typeCheck(files: readonly string[]): { readonly problems: TypeProblem[]; readonly elsewhere: TypeProblem[] } {
  // Ambient declarations src/ relies on are part of the package, not imported by path.
  const ambient = readdirSync(join(ROOT, 'src/postgres'))
    .filter((name) => name.endsWith('.d.ts'))
    .map((name) => join(ROOT, 'src/postgres', name));
  const program = ts.createProgram([...files, ...ambient], USER_OPTIONS);
  const wanted = new Set(files.map((file) => resolve(file)));
  const problems: TypeProblem[] = [];
  const elsewhere: TypeProblem[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file?.fileName ?? '(program)';
    const line = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : 0;
    (wanted.has(resolve(file)) ? problems : elsewhere).push({ file, line, message: `TS${diagnostic.code}: ${message}` });
  }
  return { problems, elsewhere };
}
