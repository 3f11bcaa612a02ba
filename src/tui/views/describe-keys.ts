// `d` describe and `y` YAML on whatever a list has selected (k9s): one behaviour for every list.
import type { DescribeTarget } from '../../protocol/api.js';
import type { KeyAction } from '../keys/dispatcher.js';
import type { NavAction } from '../state/nav.js';

/**
 * `onRow` runs a key's action on the row selected when the key runs (or says none is: see
 * onSelected in row-actions.ts); `target` names what that row describes.
 */
export function describeActions<T>(nav: (a: NavAction) => void, onRow: (fn: (row: T) => void) => () => void, target: (row: T) => DescribeTarget): KeyAction[] {
  const open = (yaml: boolean) => onRow((row) => nav({ type: 'push', view: { kind: 'describe', target: target(row), yaml } }));
  return [
    { command: 'view.describe', run: open(false) },
    { command: 'view.yaml', run: open(true) },
  ];
}
