// `d` describe and `y` YAML on whatever a list has selected (k9s): one behaviour for every list.
import type { DescribeTarget } from '../../protocol/api.js';
import type { UiActions } from '../context.js';
import type { KeyAction } from '../keys/dispatcher.js';
import type { NavAction } from '../state/nav.js';

/** `target` is read when the key runs (the selection as it is then). */
export function describeActions(nav: (a: NavAction) => void, ui: Pick<UiActions, 'flash'>, target: () => DescribeTarget | undefined, none: string): KeyAction[] {
  const open = (yaml: boolean) => () => {
    const t = target();
    if (t) nav({ type: 'push', view: { kind: 'describe', target: t, yaml } });
    else ui.flash(none, 'warn');
  };
  return [
    { command: 'view.describe', run: open(false) },
    { command: 'view.yaml', run: open(true) },
  ];
}
