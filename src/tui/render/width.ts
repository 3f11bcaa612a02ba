// Terminal columns of text the dashboard lays out itself (log and describe lines): plain ASCII is
// one column a character and takes the fast path; anything else is measured grapheme by grapheme
// with string-width, the same measure Ink uses, so a wide character never spills past the edge.
import stringWidth from 'string-width';

/**
 * Characters that are one column each, one UTF-16 unit each, and never combine: printable ASCII,
 * Latin-1 (but the soft hyphen), punctuation, arrows, box drawing and blocks, braille — what the
 * dashboard's own lines and most logs are made of (·, …, ›, ↑, ─, ⠋, █). string-width walks each
 * grapheme through Unicode property regexes (~µs a character); text of these needs only its
 * length. A test holds every character of the class to string-width's answer.
 */
export const NARROW_CLASS = '\u0020-\u007E\u00A0-\u00AC\u00AE-\u00FF\u2010-\u2027\u2030-\u205E\u2190-\u21FF\u2500-\u259F\u2800-\u28FF\u25B8\u2714\u2718\u23CE';
const NARROW = new RegExp(`^[${NARROW_CLASS}]*$`);
let segmenter: Intl.Segmenter | undefined;

/** One column a UTF-16 unit: the width is the length, and any cut is safe. */
export const isPlainAscii = (s: string): boolean => NARROW.test(s);

export function displayWidth(s: string): number {
  return isPlainAscii(s) ? s.length : stringWidth(s);
}

/**
 * Where each visual row of `s` starts (code-unit offsets) when it is cut into rows of at most
 * `width` columns; at most `maxRows` rows. Always at least [0].
 */
export function rowStarts(s: string, width: number, maxRows = Infinity): number[] {
  const starts = [0];
  if (width <= 0) return starts;
  if (isPlainAscii(s)) {
    for (let i = width; i < s.length && starts.length < maxRows; i += width) starts.push(i);
    return starts;
  }
  segmenter ??= new Intl.Segmenter();
  let used = 0;
  for (const { segment, index } of segmenter.segment(s)) {
    const w = stringWidth(segment);
    if (used + w > width && used > 0) {
      if (starts.length >= maxRows) break;
      starts.push(index);
      used = 0;
    }
    used += w;
  }
  return starts;
}

/** `s` cut to `width` columns, with an ellipsis when something was cut (Ink's truncate). */
export function truncateColumns(s: string, width: number): string {
  if (width <= 0) return '';
  if (isPlainAscii(s)) return s.length <= width ? s : `${s.slice(0, width - 1)}…`;
  if (stringWidth(s) <= width) return s;
  const cut = rowStarts(s, width - 1, 2)[1] ?? s.length;
  return `${s.slice(0, cut)}…`;
}
