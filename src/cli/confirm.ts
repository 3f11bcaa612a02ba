// Confirmation before something destructive. It reads the answer from stdin whether or not stdin
// is a terminal (`echo n | aloft down C` must not tear C down), and only a yes proceeds: `n`, an
// empty answer or the end of input aborts.
import { createInterface } from 'node:readline';

export async function confirm(question: string, defaultYes = false): Promise<boolean> {
  process.stderr.write(`${question} ${defaultYes ? '[Y/n]' : '[y/N]'} `);
  const rl = createInterface({ input: process.stdin, terminal: false });
  const answer = await new Promise<string | undefined>((resolve) => {
    rl.once('line', (line) => resolve(line));
    rl.once('close', () => resolve(undefined));
  });
  rl.close();
  if (answer === undefined) {
    process.stderr.write('\n');
    return false; // end of input: nobody said yes
  }
  if (!process.stdin.isTTY) process.stderr.write(`${answer}\n`);
  const a = answer.trim().toLowerCase();
  if (a === '') return defaultYes;
  return a === 'y' || a === 'yes';
}
