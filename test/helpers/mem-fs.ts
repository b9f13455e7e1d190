// Files as an object of texts, for the readers that take a FileAccess (ifupdown, SUSE).
import type { FileAccess } from '../../src/config/ifupdown.js';

export const memFs = (texts: Record<string, string>): FileAccess => ({
  read: (p) => {
    if (!(p in texts)) throw new Error('ENOENT');
    return texts[p];
  },
  list: (d) =>
    Object.keys(texts)
      .filter((p) => p.startsWith(`${d}/`) && !p.slice(d.length + 1).includes('/'))
      .map((p) => p.slice(d.length + 1))
      .sort(),
});
