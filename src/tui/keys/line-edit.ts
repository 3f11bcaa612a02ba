// One-line text editing shared by every input (prompt, filter, palette, search, the launch form).
import type { KeyInfo } from './commands.js';

/** The value after an editing key, or null when the key is not one (enter, esc, arrows...). */
export function editLine(value: string, input: string, key: KeyInfo, name: string): string | null {
  if (name === 'backspace') return value.slice(0, -1);
  if (name === 'ctrl+u') return '';
  if (name === 'ctrl+w') return value.replace(/\S*\s*$/, '');
  if (input && !key.ctrl && !key.meta && !/[\u0000-\u001f\u007f]/.test(input)) return value + input;
  return null;
}
