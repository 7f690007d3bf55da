// Runner-side expansion as Go's os.Expand does it (job-execution §4.4).

const isNameChar = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isShellSpecial = (c: string): boolean => '*#$@!?-0123456789'.includes(c);

/** Expands `$NAME` and `${NAME}` in `text` with `lookup` (unknown → empty). One level: results are not re-expanded. */
export function expandText(text: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0 || dollar + 1 >= text.length) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1]!;
    if (next === '{') {
      if (dollar + 2 < text.length && text[dollar + 2] === '}') {
        i = dollar + 3; // `${}` is dropped
        continue;
      }
      const close = text.indexOf('}', dollar + 2);
      if (close < 0) {
        i = dollar + 2; // unclosed `${` is dropped, the rest stays
        continue;
      }
      const name = text.slice(dollar + 2, close);
      out += lookup(name) ?? '';
      i = close + 1;
      continue;
    }
    if (isShellSpecial(next)) {
      // `$$` → `$` (os.Expand's getShellName returns "$" and the lookup maps it back), other specials → ''
      if (next === '$') out += '$';
      i = dollar + 2;
      continue;
    }
    if (!isNameChar(next)) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    let end = dollar + 1;
    while (end < text.length && isNameChar(text[end]!)) end++;
    out += lookup(text.slice(dollar + 1, end)) ?? '';
    i = end;
  }
  return out;
}
