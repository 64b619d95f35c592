// `npm run diagrams`: draws every diagram of marbles/diagrams/ to docs/diagrams/<name>.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIAGRAMS } from '../marbles/diagrams/index.js';
import { renderDiagram } from './diagram-svg.js';

const outDir = 'docs/diagrams';
mkdirSync(outDir, { recursive: true });
for (const diagram of DIAGRAMS) {
  writeFileSync(join(outDir, `${diagram.name}.svg`), renderDiagram(diagram));
  console.log(`${outDir}/${diagram.name}.svg`);
}
