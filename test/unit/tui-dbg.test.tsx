import { test } from 'vitest';
import { cluster, KEY, renderTop, snapshot } from '../helpers/tui-harness.js';
test('dbg', async () => {
  const h = renderTop({ snapshot: snapshot({ clusters: [cluster('alpha'), cluster('bravo')] }), rows: 45 });
  await h.waitFor('alpha');
  await h.press('?');
  console.log(h.frame().slice(0,400));
  await h.press('j');
  console.log(h.frame().slice(0,400));
  await h.press('q');
  console.log(h.frame());
});
