import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configsMarkdown } from '../../../src/config/doc.js';
import { optionsMarkdown } from '../../../src/options/doc.js';
import { OPTIONS } from '../../../src/options/table.js';

describe('docs/options.md', () => {
  it('is generated from the option table and current (npm run docs)', () => {
    const committed = readFileSync(new URL('../../../docs/options.md', import.meta.url), 'utf8');
    expect(committed).toBe(optionsMarkdown());
    for (const o of OPTIONS) expect(committed).toContain(`| \`${o.name}\``);
  });
});

describe('docs/configs.md', () => {
  it('is generated from the readers and current (npm run docs)', () => {
    const committed = readFileSync(new URL('../../../docs/configs.md', import.meta.url), 'utf8');
    expect(committed).toBe(configsMarkdown());
    expect(committed).toContain('| `MIIMonitorSec` | `miimon` |');
    expect(committed).toContain('| `mii-monitor-interval` | `miimon` |');
  });
});
