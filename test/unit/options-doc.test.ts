import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { optionsMarkdown } from '../../src/options/doc.js';
import { OPTIONS } from '../../src/options/table.js';

describe('docs/options.md', () => {
  it('is generated from the option table and current (npm run docs)', () => {
    const committed = readFileSync(new URL('../../docs/options.md', import.meta.url), 'utf8');
    expect(committed).toBe(optionsMarkdown());
    for (const o of OPTIONS) expect(committed).toContain(`| \`${o.name}\``);
  });
});
