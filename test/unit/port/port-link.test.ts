import { describe, expect, it } from 'vitest';
import { PortLink } from '../../../src/port/link.js';

describe('MII link state machine', () => {
  it('goes down after downdelay and counts the failure', () => {
    const l = new PortLink('up');
    expect(l.inspect(false, 0, 0, 200, false)).toBeNull();
    expect(l.state).toBe('fail');
    expect(l.inspect(false, 100, 0, 200, false)).toBeNull();
    expect(l.inspect(false, 200, 0, 200, false)).toBe('down');
    expect(l.failureCount).toBe(1);
  });

  it('ignores a flap shorter than downdelay', () => {
    const l = new PortLink('up');
    l.inspect(false, 0, 0, 300, false);
    expect(l.inspect(true, 100, 0, 300, false)).toBeNull();
    expect(l.state).toBe('up');
    expect(l.failureCount).toBe(0);
  });

  it('goes down at once without downdelay', () => {
    const l = new PortLink('up');
    expect(l.inspect(false, 5, 0, 0, false)).toBe('down');
  });

  it('waits updelay before coming back, unless nothing else is usable', () => {
    const l = new PortLink('down');
    expect(l.inspect(true, 0, 500, 0, false)).toBeNull();
    expect(l.state).toBe('back');
    expect(l.remaining(100, 500)).toBe(400);
    expect(l.inspect(false, 200, 500, 0, false)).toBeNull();
    expect(l.state).toBe('down');
    l.inspect(true, 300, 500, 0, false);
    expect(l.inspect(true, 800, 500, 0, false)).toBe('up');
    const m = new PortLink('down');
    expect(m.inspect(true, 0, 10000, 0, true)).toBe('up');
  });
});
