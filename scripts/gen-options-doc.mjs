#!/usr/bin/env node
// Writes docs/options.md from the option table (run after `npm run build:ts`).
import { writeFileSync } from 'node:fs';
import { optionsMarkdown } from '../dist/options/doc.js';

writeFileSync(new URL('../docs/options.md', import.meta.url), optionsMarkdown());
console.log('docs/options.md written');
