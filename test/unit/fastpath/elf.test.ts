// The eBPF object loader's ELF reader on the committed object, and its refusals.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfError, parseBpfObject, relocate } from '../../../src/fastpath/elf.js';
import { OBJECT_URL, possibleCpus } from '../../../src/fastpath/kernel-path.js';
import { PLAN_SIZE } from '../../../src/fastpath/plan-encode.js';

const obj = readFileSync(OBJECT_URL);

describe('eBPF object reader', () => {
  it('finds the four programs, their map references and the seven maps', () => {
    const o = parseBpfObject(obj);
    expect(o.license).toBe('GPL');
    expect(o.programs.map((p) => [p.section, p.name])).toEqual([
      ['tc/tx', 'tx'],
      ['tc/tx_after', 'tx_after'],
      ['tc/rx', 'rx'],
      ['socket/slow', 'slow'],
    ]);
    expect(Object.fromEntries(o.maps.map((m) => [m.name, [m.type, m.keySize, m.valueSize, m.maxEntries]]))).toEqual({
      plans: [2, 4, PLAN_SIZE, 2], // BPF_MAP_TYPE_ARRAY, two generations
      gen: [2, 4, 4, 1],
      stats: [6, 4, 72, 32], // PERCPU_ARRAY, 9 counters per engine port
      rr: [6, 4, 4, 1],
      local: [9, 8, 8, 16384], // LRU_HASH
      tlb: [2, 4, 512, 1], // a port per balance-tlb/alb bucket
      tlb_bytes: [6, 4, 513 * 8, 1], // bytes per bucket, per CPU
    });
    for (const p of o.programs) {
      expect(p.insns.length % 8).toBe(0);
      expect(p.relocs.length).toBeGreaterThan(0);
      expect(p.relocs.map((r) => r.map)).toContain('plans');
    }
  });

  it('patches each map reference into a map-fd load', () => {
    const p = parseBpfObject(obj).programs[0];
    const fds = new Map([
      ['plans', 11],
      ['gen', 12],
      ['stats', 13],
      ['rr', 14],
      ['local', 15],
      ['tlb', 16],
      ['tlb_bytes', 17],
    ]);
    const out = relocate(p, fds);
    for (const r of p.relocs) {
      expect(out[r.offset]).toBe(0x18);
      expect(out[r.offset + 1] >> 4).toBe(1); // BPF_PSEUDO_MAP_FD
      expect(new DataView(out.buffer).getInt32(r.offset + 4, true)).toBe(fds.get(r.map));
    }
    expect(() => relocate(p, new Map())).toThrow(/no fd for map/);
  });

  it('refuses what is not an eBPF object, or is cut short, by saying so', () => {
    expect(() => parseBpfObject(new Uint8Array(100))).toThrow(ElfError);
    expect(() => parseBpfObject(new Uint8Array(100))).toThrow('not an ELF file');
    const x86 = Uint8Array.from(obj);
    x86[18] = 62;
    expect(() => parseBpfObject(x86)).toThrow('not an eBPF object (e_machine 62)');
    expect(() => parseBpfObject(obj.subarray(0, 4096))).toThrow(/beyond the end of the file/);
  });

  it('counts the CPUs a per-CPU map holds values for', () => {
    expect(possibleCpus('0-1\n')).toBe(2);
    expect(possibleCpus('0\n')).toBe(1);
    expect(possibleCpus('0-3,8-11\n')).toBe(12);
  });
});
