import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderDiagram } from '../scripts/diagram-svg.js';
import { DIAGRAMS } from './diagrams/index.js';

describe('committed diagrams', () => {
  for (const diagram of DIAGRAMS) {
    it(`docs/diagrams/${diagram.name}.svg is what npm run diagrams draws`, () => {
      const committed = readFileSync(`docs/diagrams/${diagram.name}.svg`, 'utf8');
      assert.equal(renderDiagram(diagram), committed, 'run npm run diagrams and commit the result');
      assert.equal(renderDiagram(diagram), renderDiagram(diagram), 'rendering is deterministic');
    });
  }
});
