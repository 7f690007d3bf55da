import { describe, expect, it } from 'vitest';
import { createSystemId, isValidSystemId } from './system-id.js';

describe('system ID', () => {
  it('is derived from the machine ID (stable) or random with r_', () => {
    const a = createSystemId('4c4c4544-0042-3510-8052-b4c04f4e3232');
    expect(a).toMatch(/^s_[0-9a-f]{12}$/);
    expect(createSystemId('4c4c4544-0042-3510-8052-b4c04f4e3232')).toBe(a);
    expect(createSystemId('other-machine')).not.toBe(a);
    const random = createSystemId();
    expect(random).toMatch(/^r_[0-9a-zA-Z]{12}$/);
    expect(createSystemId('')).not.toBe(random);
  });

  it('validates stored IDs', () => {
    expect(isValidSystemId('s_0123456789ab')).toBe(true);
    expect(isValidSystemId('r_ABCdef123456')).toBe(true);
    expect(isValidSystemId('s_0123456789a')).toBe(false);
    expect(isValidSystemId('x_0123456789ab')).toBe(false);
    expect(isValidSystemId(undefined)).toBe(false);
  });
});
