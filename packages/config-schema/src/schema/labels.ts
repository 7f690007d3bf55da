import { LABEL_KEY, LABEL_VALUE } from '../values/formats.js';
import { map, str } from './types.js';

/** `labels` tables (global and per runner): keys and values follow GitLab's label patterns (§2.4). */
export const labels = () =>
  map(str()).superRefine((value, context) => {
    for (const [key, label] of Object.entries(value)) {
      if (!LABEL_KEY.test(key)) {
        context.addIssue({
          code: 'custom',
          message: `invalid label key ${JSON.stringify(key)}: expected 3 to 65 characters of A-Z a-z 0-9 . _ - (not starting with . or -)`,
          params: { code: 'invalid_format' },
          path: [key],
          input: key,
        });
      } else if (typeof label === 'string' && !LABEL_VALUE.test(label)) {
        context.addIssue({
          code: 'custom',
          message: `invalid label value ${JSON.stringify(label)}: expected 1 to 256 characters of A-Z a-z 0-9 . _ -`,
          params: { code: 'invalid_format' },
          path: [key],
          input: label,
        });
      }
    }
  });
