// GCE list filters, as the API takes them: `labels.aloft-cluster = "c1"`, `status != RUNNING`,
// `labels.k:*` (has), gcloud's regex form `(labels.a eq b)` / `(name ne ".*x")`, joined by AND
// (or juxtaposition) and OR, with parentheses. Field paths walk the resource's JSON.

type Pred = (r: Record<string, unknown>) => boolean;

function field(r: unknown, path: string): unknown {
  let cur: unknown = r;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

const asText = (v: unknown): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'object' ? JSON.stringify(v) : String(v);

function tokenize(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '(' || c === ')') out.push(c), i++;
    else if (s.startsWith('!=', i)) out.push('!='), (i += 2);
    else if (c === '=' || c === ':' || c === '~') out.push(c), i++;
    else if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== c) {
        // \" is a quote; any other backslash is kept (regex values carry \b, \.)
        if (s[j] === '\\' && s[j + 1] === c) j++;
        v += s[j++];
      }
      out.push(JSON.stringify(v)); // quoted value marker
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && !/[\s()=:!~]/.test(s[j]!)) j++;
      out.push(s.slice(i, j));
      i = j;
    }
  }
  return out;
}

const unquote = (t: string): string => (t.startsWith('"') ? (JSON.parse(t) as string) : t);

/** Parses a filter into a predicate; throws Error(message) on syntax it does not understand. */
export function parseFilter(text: string | undefined): Pred {
  if (!text || !text.trim()) return () => true;
  const toks = tokenize(text);
  let pos = 0;
  const peek = () => toks[pos];
  const next = () => toks[pos++];

  const term = (): Pred => {
    const t = next();
    if (t === undefined) throw new Error(`Invalid value for field 'filter': '${text}'. Invalid list filter expression.`);
    if (t === '(') {
      const p = orExpr();
      if (next() !== ')') throw new Error(`Invalid value for field 'filter': '${text}'. Unbalanced parentheses.`);
      return p;
    }
    if (t.toUpperCase() === 'NOT') {
      const p = term();
      return (r) => !p(r);
    }
    const path = t;
    const op = next();
    const rawVal = next();
    if (op === undefined || rawVal === undefined) throw new Error(`Invalid value for field 'filter': '${text}'. Invalid list filter expression.`);
    const val = unquote(rawVal);
    switch (op.toLowerCase()) {
      case '=':
        return (r) => asText(field(r, path)) === val;
      case '!=':
        return (r) => asText(field(r, path)) !== val;
      case ':':
        return val === '*' ? (r) => field(r, path) !== undefined : (r) => (asText(field(r, path)) ?? '').includes(val);
      case 'eq':
      case 'ne': {
        // gcloud's server-side form: a full-match RE2 regex.
        const re = new RegExp(`^(?:${val})$`);
        const want = op.toLowerCase() === 'eq';
        return (r) => re.test(asText(field(r, path)) ?? '') === want;
      }
      default:
        throw new Error(`Invalid value for field 'filter': '${text}'. Unknown operator '${op}'.`);
    }
  };

  const andExpr = (): Pred => {
    const parts = [term()];
    while (peek() !== undefined && peek() !== ')' && peek()!.toUpperCase() !== 'OR') {
      if (peek()!.toUpperCase() === 'AND') next();
      parts.push(term());
    }
    return (r) => parts.every((p) => p(r));
  };

  const orExpr = (): Pred => {
    const parts = [andExpr()];
    while (peek()?.toUpperCase() === 'OR') {
      next();
      parts.push(andExpr());
    }
    return (r) => parts.some((p) => p(r));
  };

  const p = orExpr();
  if (pos < toks.length) throw new Error(`Invalid value for field 'filter': '${text}'. Unexpected '${toks[pos]}'.`);
  return p;
}
