// A log stream re-opened after the daemon came back starts from the beginning again; what was
// already passed on must not be passed on twice.

/**
 * A filter for one re-opened stream: drops its first `seen` characters (those already passed on)
 * and gives back the rest of each chunk, or undefined for a chunk that was all seen.
 */
export function unseenText(seen: number): (text: string) => string | undefined {
  let skip = seen;
  return (text) => {
    if (skip === 0) return text;
    if (text.length <= skip) {
      skip -= text.length;
      return undefined;
    }
    const rest = text.slice(skip);
    skip = 0;
    return rest;
  };
}
