// `d`: everything the daemon knows about the selected object; `y`: its task as YAML. A text view
// (scroll, wrap, `/` search, n/N, only matches) that fetches again when the object changes.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Box, Text } from 'ink';
import type { Description, DescribeTarget } from '../../protocol/api.js';
import { taskToYaml } from '../../spec/to-yaml.js';
import { errorMessage } from '../../util/errors.js';
import { useData, useDeps } from '../context.js';
import { PRIORITY, useKeyLayer } from '../keys/dispatcher.js';
import { describeLines } from '../render/describe.js';
import { targetTitle } from '../state/nav.js';
import type { TuiData } from '../state/reducer.js';
import { TextLog } from '../state/textlog.js';
import { TextRows } from '../components/TextRows.js';
import { useTextView } from './useText.js';

const REFETCH_MS = 1000;

/** The record the page is about, as the event stream has it now: a change fetches the page again. */
function recordOf(data: TuiData, t: DescribeTarget): unknown {
  switch (t.kind) {
    case 'cluster':
      return data.clusters.get(t.cluster);
    case 'job': {
      const c = data.clusters.get(t.cluster);
      return c ? data.jobs.get(`${c.uid}/${t.job}`) : undefined;
    }
    case 'managed':
      return data.managed.get(t.id);
    case 'request':
      return data.requests.get(t.id);
  }
}

export function DescribeView({ target, yaml, height, width }: { target: DescribeTarget; yaml: boolean; height: number; width: number }) {
  const deps = useDeps();
  const data = useData();
  const [state, setState] = useState<{ d: Description; at: number } | { error: string } | null>(null);
  const record = recordOf(data, target);
  const last = useRef(0);
  useEffect(() => {
    let live = true;
    // a record that changes many times a second (a launch going through its stages) is fetched
    // again at most once a second
    const wait = Math.max(0, last.current + REFETCH_MS - Date.now());
    const t = setTimeout(() => {
      last.current = Date.now();
      deps.client.call('describe', target).then(
        (d) => live && setState({ d, at: Date.now() }),
        (err: unknown) => live && setState({ error: errorMessage(err).split('\n')[0]! }),
      );
    }, wait);
    return () => {
      live = false;
      clearTimeout(t);
    };
    // the target is fixed for the page's life; `record` changing is the reason to fetch again
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [record]);

  const log = useMemo(() => {
    if (!state || 'error' in state) return TextLog.of([]);
    if (!yaml) return TextLog.of(describeLines(state.d, state.at));
    return TextLog.of(state.d.task ? taskToYaml(state.d.task).trimEnd().split('\n') : [`${targetTitle(target)}: no task recorded`]);
  }, [state, yaml, target]);
  const body = Math.max(1, height - 1);
  const text = useTextView({ log, version: 0, height: body, width });
  useKeyLayer({ priority: PRIORITY.view, actions: text.actions, title: yaml ? 'yaml' : 'describe' });
  const title = `${yaml ? 'YAML of the task of' : 'describe'} ${targetTitle(target)}`;
  return (
    <Box flexDirection="column" height={height}>
      {text.searchLine ?? (
        <Text wrap="truncate" dimColor>
          {title}
          {state && 'd' in state ? ` · ${log.length} lines` : ''}
          {text.searchStatus ? ` · ${text.searchStatus}` : ''}
          {` · wrap ${text.wrap ? 'on' : 'off'}`}
        </Text>
      )}
      {state && 'error' in state ? (
        <Text color="red">{state.error}</Text>
      ) : (
        <TextRows rows={text.window.rows} height={body} empty={state ? 'nothing to show' : 'asking the daemon…'} />
      )}
    </Box>
  );
}
