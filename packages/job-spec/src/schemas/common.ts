import { z } from 'zod';

// GitLab sends `null` for many unset fields; missing and `null` both read as the type's empty value.

export function optionalString() {
  return z
    .string()
    .nullish()
    .transform((value) => value ?? '');
}

export function optionalBoolean() {
  return z
    .boolean()
    .nullish()
    .transform((value) => value ?? false);
}

/** A safe integer (|n| ≤ 2^53−1); `null`/missing → 0. */
export function optionalInteger() {
  return z
    .int()
    .nullish()
    .transform((value) => value ?? 0);
}

export function optionalNumber() {
  return z
    .number()
    .nullish()
    .transform((value) => value ?? 0);
}

export function optionalList<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .nullish()
    .transform((value): z.output<T>[] => value ?? []);
}

export function optionalStringList() {
  return optionalList(z.string());
}

/** A time as GitLab sends it (RFC 3339 text) or `null`. */
export const TimestampSchema = z.string().nullable();

/** `when` of steps, artifacts and caches; empty or missing means `on_success`. */
export const WHEN_VALUES = ['on_success', 'on_failure', 'always'] as const;
export type When = (typeof WHEN_VALUES)[number];
export function whenField() {
  return z
    .union([z.enum(WHEN_VALUES), z.literal('')])
    .nullish()
    .transform((value): When => (value ? value : 'on_success'));
}
