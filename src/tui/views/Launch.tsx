// The launch key: pick a task YAML, show the optimizer's dry-run plan, launch on confirm; the
// request's progress then shows in Requests.
import { useEffect, useMemo, useState } from 'react';
import { Box, Text } from 'ink';
import { relative } from 'node:path';
import type { Task } from '../../spec/types.js';
import { errorMessage } from '../../util/errors.js';
import { useDeps, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer } from '../keys/dispatcher.js';
import { windowStart } from '../render/table.js';

type Step =
  | { at: 'pick' }
  | { at: 'planning'; file: string }
  | { at: 'plan'; file: string; task: Task; text: string; focus: 0 | 1 }
  | { at: 'launching'; file: string };

export function LaunchOverlay({ height, width }: { height: number; width: number }) {
  const deps = useDeps();
  const ui = useUi();
  const nav = useNavDispatch();
  const files = useMemo(() => deps.listTaskFiles?.() ?? [], [deps]);
  const [sel, setSel] = useState(0);
  const [step, setStep] = useState<Step>({ at: 'pick' });

  useEffect(() => {
    if (step.at !== 'planning') return;
    let live = true;
    (async () => {
      if (!deps.loadTask) throw new Error('task parsing is not available in this build');
      const task = await deps.loadTask(step.file);
      const plan = await deps.client.call('plan', { tasks: [task] });
      if (live) setStep({ at: 'plan', file: step.file, task, text: plan.text, focus: 1 });
    })().catch((err: unknown) => {
      if (!live) return;
      ui.flash(`${relative(process.cwd(), step.file) || step.file}: ${errorMessage(err)}`, 'error');
      setStep({ at: 'pick' });
    });
    return () => {
      live = false;
    };
  }, [step, deps, ui]);

  const launch = (file: string, task: Task) => {
    setStep({ at: 'launching', file });
    deps.client.call('launch', { task }).then(
      (r) => {
        ui.closeOverlay();
        ui.flash(`launching ${r.cluster} (request ${r.requestId})`);
        nav({ type: 'reset', views: [{ kind: 'clusters' }, { kind: 'requests' }] });
      },
      (err: unknown) => {
        ui.closeOverlay();
        ui.flash(`launch: ${errorMessage(err)}`, 'error');
      },
    );
  };

  useKeyLayer({
    priority: PRIORITY.overlay,
    modal: true,
    actions: [],
    hints:
      step.at === 'plan'
        ? [
            { key: '←/→', label: 'choose' },
            { key: '⏎', label: 'confirm' },
            { key: 'esc', label: 'back' },
          ]
        : [
            { key: '↑/↓', label: 'choose' },
            { key: '⏎', label: 'plan' },
            { key: 'esc', label: 'close' },
          ],
    onKey(_input, _key, name) {
      if (name === 'esc' || name === 'q') {
        if (step.at === 'plan') setStep({ at: 'pick' });
        else ui.closeOverlay();
        return true;
      }
      if (step.at === 'pick') {
        if (name === 'up' || name === 'k') setSel((s) => Math.max(0, s - 1));
        else if (name === 'down' || name === 'j') setSel((s) => Math.min(files.length - 1, s + 1));
        else if (name === 'enter' && files[sel]) setStep({ at: 'planning', file: files[sel]! });
      } else if (step.at === 'plan') {
        if (name === 'left' || name === 'right' || name === 'tab' || name === 'h' || name === 'l') {
          setStep({ ...step, focus: step.focus === 1 ? 0 : 1 });
        } else if (name === 'enter') {
          if (step.focus === 1) launch(step.file, step.task);
          else setStep({ at: 'pick' });
        }
      }
      return true;
    },
  });

  // Paths under the current directory read best relative; others (aloft's examples/) in full.
  const show = (f: string) => {
    const r = relative(process.cwd(), f);
    return r && !r.startsWith('..') ? r : f;
  };
  if (step.at === 'pick') {
    const body = Math.max(1, height - 3);
    const start = windowStart(sel, files.length, body);
    return (
      <Box flexDirection="column" height={height} width={width}>
        <Text bold color="cyan">
          Launch a task <Text dimColor>(↑/↓ choose · ⏎ plan · esc close)</Text>
        </Text>
        {files.length === 0 ? (
          <Text dimColor>no task YAML files in the current directory or examples/</Text>
        ) : (
          files.slice(start, start + body).map((f, i) => (
            <Text key={f} inverse={start + i === sel} wrap="truncate">
              {start + i === sel ? '▸ ' : '  '}
              {show(f)}
            </Text>
          ))
        )}
      </Box>
    );
  }
  if (step.at === 'planning' || step.at === 'launching') {
    return (
      <Text color="cyan">
        {step.at === 'planning' ? 'planning' : 'launching'} {show(step.file)}…
      </Text>
    );
  }
  const lines = step.text.split('\n').slice(0, Math.max(1, height - 4));
  return (
    <Box flexDirection="column" height={height} width={width}>
      <Text bold color="cyan">
        Plan for {show(step.file)}
      </Text>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l || ' '}
        </Text>
      ))}
      <Box gap={2} marginTop={1}>
        <Text inverse={step.focus === 0} bold={step.focus === 0}>
          {step.focus === 0 ? '[ Cancel ]' : '  Cancel  '}
        </Text>
        <Text inverse={step.focus === 1} bold={step.focus === 1} color={step.focus === 1 ? 'green' : undefined}>
          {step.focus === 1 ? '[ Launch ]' : '  Launch  '}
        </Text>
        <Text dimColor>←/→ choose · ⏎ confirm · esc back</Text>
      </Box>
    </Box>
  );
}
