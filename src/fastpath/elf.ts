// Reads the eBPF object clang builds from native/bpf/tapbond.bpf.c: its programs (one per
// executable section), their map relocations and the legacy "maps" section definitions. Only
// what that object uses is accepted; anything else (BPF-to-BPF calls, global data, BTF-defined
// maps) is refused by name, so a change to the C that this loader does not handle fails loudly.
// Pure: bytes in, a description out.

export interface MapDef {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface ProgramDef {
  /** The ELF section, e.g. 'tc/tx'. */
  section: string;
  /** The C function's name. */
  name: string;
  /** The instructions, 8 bytes each, to be patched with map fds (see relocate). */
  insns: Uint8Array;
  /** Byte offsets of `ld_imm64` instructions that load a map, and which. */
  relocs: { offset: number; map: string }[];
}

export interface BpfObject {
  license: string;
  maps: MapDef[];
  programs: ProgramDef[];
}

const SHT_SYMTAB = 2;
const SHT_REL = 9;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;
const R_BPF_64_64 = 1;
const BPF_LD_IMM64 = 0x18;
const BPF_PSEUDO_MAP_FD = 1;
const MAP_DEF_SIZE = 20;

interface Section {
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

export class ElfError extends Error {}

export function parseBpfObject(bytes: Uint8Array): BpfObject {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64 || v.getUint32(0, false) !== 0x7f454c46) throw new ElfError('not an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new ElfError('not a 64-bit little-endian ELF file');
  if (v.getUint16(18, true) !== 247) throw new ElfError(`not an eBPF object (e_machine ${v.getUint16(18, true)})`);
  const shoff = Number(v.getBigUint64(40, true));
  const shentsize = v.getUint16(58, true);
  const shnum = v.getUint16(60, true);
  const shstrndx = v.getUint16(62, true);
  if (shoff + shnum * shentsize > bytes.length) throw new ElfError('section headers beyond the end of the file');
  const raw: Omit<Section, 'name'>[] = [];
  const nameOffs: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    nameOffs.push(v.getUint32(o, true));
    raw.push({
      type: v.getUint32(o + 4, true),
      flags: Number(v.getBigUint64(o + 8, true)),
      offset: Number(v.getBigUint64(o + 24, true)),
      size: Number(v.getBigUint64(o + 32, true)),
      link: v.getUint32(o + 40, true),
      info: v.getUint32(o + 44, true),
    });
  }
  const cstr = (off: number): string => {
    let e = off;
    while (e < bytes.length && bytes[e] !== 0) e++;
    return Buffer.from(bytes.subarray(off, e)).toString('latin1');
  };
  const strtab = raw[shstrndx];
  const sections: Section[] = raw.map((s, i) => ({ ...s, name: cstr(strtab.offset + nameOffs[i]) }));
  const data = (s: Section) => {
    if (s.offset + s.size > bytes.length) throw new ElfError(`section ${s.name} beyond the end of the file`);
    return bytes.subarray(s.offset, s.offset + s.size);
  };

  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) throw new ElfError('no symbol table');
  const symStr = sections[symtab.link];
  const syms: { name: string; type: number; shndx: number; value: number }[] = [];
  for (let o = symtab.offset; o + 24 <= symtab.offset + symtab.size; o += 24) {
    syms.push({
      name: cstr(symStr.offset + v.getUint32(o, true)),
      type: bytes[o + 4] & 0xf,
      shndx: v.getUint16(o + 6, true),
      value: Number(v.getBigUint64(o + 8, true)),
    });
  }

  for (const s of sections) {
    if (['.data', '.bss', '.rodata', '.maps'].includes(s.name) || s.name.startsWith('.rodata.')) {
      if (s.size > 0) throw new ElfError(`section ${s.name} (global data or BTF-defined maps) is not supported by this loader`);
    }
  }

  const mapsIdx = sections.findIndex((s) => s.name === 'maps');
  const maps: MapDef[] = [];
  const mapAt = new Map<number, string>();
  if (mapsIdx >= 0) {
    const m = sections[mapsIdx];
    for (const sym of syms.filter((x) => x.shndx === mapsIdx && x.name)) {
      const o = m.offset + sym.value;
      if (sym.value + MAP_DEF_SIZE > m.size) throw new ElfError(`map ${sym.name}: definition beyond the maps section`);
      maps.push({
        name: sym.name,
        type: v.getUint32(o, true),
        keySize: v.getUint32(o + 4, true),
        valueSize: v.getUint32(o + 8, true),
        maxEntries: v.getUint32(o + 12, true),
        flags: v.getUint32(o + 16, true),
      });
      mapAt.set(sym.value, sym.name);
    }
  }

  const licSec = sections.find((s) => s.name === 'license');
  const license = licSec ? cstr(licSec.offset) : '';

  const programs: ProgramDef[] = [];
  sections.forEach((s, idx) => {
    if (!(s.flags & SHF_EXECINSTR) || s.size === 0) return;
    if (s.name === '.text') throw new ElfError('.text holds code: a function was not inlined (BPF-to-BPF calls are not supported)');
    const fn = syms.find((x) => x.shndx === idx && x.type === STT_FUNC);
    const relocs: ProgramDef['relocs'] = [];
    const insns = Uint8Array.from(data(s));
    for (const r of sections.filter((x) => x.type === SHT_REL && x.info === idx)) {
      for (let o = r.offset; o + 16 <= r.offset + r.size; o += 16) {
        const offset = Number(v.getBigUint64(o, true));
        const info = v.getBigUint64(o + 8, true);
        const type = Number(info & 0xffffffffn);
        const sym = syms[Number(info >> 32n)];
        if (type !== R_BPF_64_64) throw new ElfError(`${s.name}: relocation type ${type} against ${sym?.name} is not supported`);
        if (!sym || sym.shndx !== mapsIdx) throw new ElfError(`${s.name}: relocation against ${sym?.name ?? '?'}, which is not a map`);
        if (insns[offset] !== BPF_LD_IMM64) throw new ElfError(`${s.name}: relocation at ${offset} is not on a 64-bit load`);
        const map = mapAt.get(sym.value);
        if (!map) throw new ElfError(`${s.name}: relocation against an unknown map at ${sym.value}`);
        relocs.push({ offset, map });
      }
    }
    programs.push({ section: s.name, name: fn?.name ?? s.name, insns, relocs });
  });
  return { license, maps, programs };
}

/** A copy of the program's instructions with each map reference turned into that map's fd. */
export function relocate(p: ProgramDef, fds: ReadonlyMap<string, number>): Uint8Array {
  const out = Uint8Array.from(p.insns);
  const v = new DataView(out.buffer);
  for (const r of p.relocs) {
    const fd = fds.get(r.map);
    if (fd === undefined) throw new ElfError(`${p.section}: no fd for map ${r.map}`);
    out[r.offset + 1] = (out[r.offset + 1] & 0x0f) | (BPF_PSEUDO_MAP_FD << 4);
    v.setInt32(r.offset + 4, fd, true);
  }
  return out;
}
