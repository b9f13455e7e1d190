#!/usr/bin/env node
// Writes docs/options.md from the option table and docs/configs.md from the config readers'
// key tables (run after `npm run build:ts`). The compiled modules are imported by path, so the
// typecheck of scripts/ does not depend on a build.
const dist = new URL('../dist/', import.meta.url);
const { writeFileSync } = await import('node:fs');
const { configsMarkdown } = await import(new URL('config/doc.js', dist).href);
const { optionsMarkdown } = await import(new URL('options/doc.js', dist).href);

writeFileSync(new URL('../docs/options.md', import.meta.url), optionsMarkdown());
writeFileSync(new URL('../docs/configs.md', import.meta.url), configsMarkdown());
console.log('docs/options.md and docs/configs.md written');
