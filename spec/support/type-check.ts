// Type-checks TypeScript files as a user's project would: strict, ESM, `nodenext`, with
// 'rxpg', 'rxpg/mysql', 'rxpg/testing' and 'rxpg/opentelemetry' resolved to this checkout's entry points in src/ (the
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
  'rxpg/opentelemetry': join(ROOT, 'src/opentelemetry.ts'),
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
  // Only these specifiers: a deep import such as 'rxpg/src/…' does not resolve, as for a user.
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
 * 'pg' resolve from its node_modules) in one program, and returns their problems. Only these
 * files are checked, and what they use of src/ as far as they use it: `npm run typecheck`
 * checks src/ itself, and checking all of it again here would triple the time.
 */
export function typeCheck(files: readonly string[]): TypeProblem[] {
  // Ambient declarations src/ relies on are part of the package, not imported by path.
  const ambient = readdirSync(join(ROOT, 'src/postgres'))
    .filter((name) => name.endsWith('.d.ts'))
    .map((name) => join(ROOT, 'src/postgres', name));
  const program = ts.createProgram([...files, ...ambient], USER_OPTIONS);
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (source === undefined) throw new Error(`${file} is not part of the program`);
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
  }
  return diagnostics.map((diagnostic) => ({
    file: diagnostic.file?.fileName ?? '(program)',
    line: diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : 0,
    message: `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
  }));
}
