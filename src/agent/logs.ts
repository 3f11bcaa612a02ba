// The `logs` stream: a job's run.log from the head node, optionally only the last N lines or one
// rank's lines, following it until the job is over and every line has been read.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { AgentJob, AgentMethods } from './protocol.js';
import { isTerminalJob } from '../protocol/model.js';
import type { Agent } from './agent.js';
import { jobFiles } from './jobrun.js';
import { AgentError, type StreamSink } from './rpc.js';
import { FileTailer } from './tail.js';

type LogsParams = AgentMethods['logs']['params'];

/** Byte offset where the last `n` wanted lines start (reads backwards in blocks). */
function tailOffset(path: string, n: number, keep: (line: string) => boolean): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  try {
    const size = statSync(path).size;
    if (n <= 0) return size;
    const block = 64 * 1024;
    let pos = size;
    let carry = Buffer.alloc(0);
    let found = 0;
    // Lines are judged whole; the first (possibly partial) piece of each block is carried over.
    while (pos > 0) {
      const start = Math.max(0, pos - block);
      const buf = Buffer.alloc(pos - start);
      readSync(fd, buf, 0, buf.length, start);
      const data = Buffer.concat([buf, carry]);
      let end = data.length;
      // A trailing newline ends the last line; it does not start an empty one.
      if (pos === size && data[end - 1] === 0x0a) end--;
      let i = data.lastIndexOf(0x0a, end - 1);
      while (i !== -1) {
        const line = data.subarray(i + 1, end).toString('utf8');
        if (keep(line) && ++found >= n) return start + i + 1;
        end = i;
        i = end > 0 ? data.lastIndexOf(0x0a, end - 1) : -1;
      }
      carry = data.subarray(0, end);
      pos = start;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

export function logsHandler(agent: Agent, p: LogsParams, sink: StreamSink): { status: AgentJob['status'] } {
  const job = agent.getJob(p.jobId);
  if (!job) throw new AgentError(`job ${p.jobId} not found`, 'NOT_FOUND');
  const path = jobFiles(agent.nodeDir, job.id).runLog;
  let keep: ((line: string) => boolean) | undefined;
  if (p.rank !== undefined && p.rank !== null) {
    if (job.numNodes <= 1) keep = () => p.rank === 0;
    else {
      const tag = `, rank=${p.rank},`;
      const tag2 = `, rank=${p.rank})`;
      keep = (line) => {
        const close = line.indexOf(') ');
        const head = close === -1 ? line : line.slice(0, close + 1);
        return head.startsWith('(') && (head.includes(tag) || head.includes(tag2));
      };
    }
  }
  const offset = p.tailLines !== undefined && p.tailLines !== null ? tailOffset(path, p.tailLines, keep ?? (() => true)) : 0;
  const dec = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string) => {
    if (!keep) {
      if (text) sink.send({ text });
      return;
    }
    partial += text;
    const nl = partial.lastIndexOf('\n');
    if (nl === -1) return;
    const lines = partial.slice(0, nl).split('\n');
    partial = partial.slice(nl + 1);
    const out = lines.filter(keep);
    if (out.length > 0) sink.send({ text: out.join('\n') + '\n' });
  };
  const finish = () => {
    emit(dec.end());
    if (keep && partial && keep(partial)) sink.send({ text: partial });
    partial = '';
    sink.send({ status: agent.statusOf(job.id) });
    sink.end();
  };
  const tailer = new FileTailer(path, offset, async (chunk) => {
    emit(dec.write(chunk));
    await sink.drained();
  }, 100);
  let over = false;
  const end = () => {
    if (over) return;
    over = true;
    agent.off('job', onJob);
    void tailer.finish().then(finish);
  };
  const onJob = (j: AgentJob) => {
    if (j.id === job.id && isTerminalJob(j.status)) end();
    else if (j.id === job.id) tailer.kick();
  };
  sink.onClose(() => {
    agent.off('job', onJob);
    tailer.stop();
  });
  if (!p.follow || isTerminalJob(job.status)) {
    tailer.start();
    end();
  } else {
    agent.on('job', onJob);
    tailer.start();
  }
  return { status: job.status };
}
