// Small behaviours the list views compose their keys from (k9s): act on the selected row, follow
// its output, confirm before a daemon call. Each view keeps its own keys and wording.
import type { UiActions } from '../context.js';
import type { KeyAction } from '../keys/dispatcher.js';

/**
 * Wraps a key's action so it runs on the row selected when the key runs (`selected` reads it
 * then), or flashes `none` when nothing is selected.
 */
export function onSelected<T>(selected: () => T | undefined, ui: Pick<UiActions, 'flash'>, none: string) {
  return (fn: (row: T) => void) => () => {
    const row = selected();
    if (row === undefined) return ui.flash(none, 'warn');
    fn(row);
  };
}

/** ⏎ and l follow the selected row's output (⏎ stays out of the hint bar: l is shown). */
export function logsActions(open: () => void): KeyAction[] {
  return [
    { command: 'nav.enter', label: 'Logs', run: open, hideHint: true },
    { command: 'view.logs', run: open },
  ];
}

/** A confirmation dialog whose yes runs one daemon call and flashes its outcome as one line. */
export function confirmThenAct(
  ui: Pick<UiActions, 'confirm' | 'act'>,
  req: { title: string; message: string; confirmLabel: string; what: string; call: () => Promise<string | void> },
): void {
  ui.confirm({ title: req.title, message: req.message, confirmLabel: req.confirmLabel, onConfirm: () => ui.act(req.what, req.call) });
}
