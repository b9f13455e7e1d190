#!/usr/bin/env node
// Writes docs/options.md from the option table and docs/configs.md from the config readers'
// key tables (run after `npm run build:ts`).
import { writeFileSync } from 'node:fs';
import { configsMarkdown } from '../dist/config/doc.js';
import { optionsMarkdown } from '../dist/options/doc.js';

writeFileSync(new URL('../docs/options.md', import.meta.url), optionsMarkdown());
writeFileSync(new URL('../docs/configs.md', import.meta.url), configsMarkdown());
console.log('docs/options.md and docs/configs.md written');
