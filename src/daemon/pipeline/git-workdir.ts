// SYNC_WORKDIR for `workdir: {url, ref}`: every node clones the repository (or fetches into its
// earlier clone) into ~/sky_workdir and checks out `ref` — a branch, a tag or a commit — as
// SkyPilot does. Private repositories: GIT_TOKEN (https) or GIT_SSH_KEY / GIT_SSH_KEY_PATH (ssh)
// from --secret. They reach the node on stdin and live in a temporary 0700 directory for the
// clone only; never in a command line, .git/config or a log.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import type { NodeInfo, Provider } from '../../providers/types.js';
import type { GitWorkdir } from '../../spec/types.js';
import { UserError, errorMessage } from '../../util/errors.js';
import { shellQuote } from '../../util/shell.js';
import { ensureNodeTools } from './storage.js';
import { WORKDIR_ON_NODE } from './sync.js';

const CLONE = String.raw`
set -e
IFS= read -r token || true
key=$(cat)
work=$(mktemp -d "$PWD/.aloft-git.XXXXXX"); trap 'rm -rf "$work"' EXIT
export GIT_TERMINAL_PROMPT=0
if [ -n "$token" ]; then
  # any user name goes with a token (GitHub, GitLab, Bitbucket app passwords take the token as password)
  printf '#!/bin/sh\ncase "$1" in Username*) echo x-access-token;; *) echo "$GIT_TOKEN";; esac\n' > "$work/askpass"
  chmod 700 "$work/askpass"
  export GIT_TOKEN="$token" GIT_ASKPASS="$work/askpass"
fi
if [ -n "$key" ]; then
  printf '%s\n' "$key" > "$work/key"; chmod 600 "$work/key"
  export GIT_SSH_COMMAND="ssh -i '$work/key' -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile='$work/known_hosts' -o BatchMode=yes"
fi
if [ -d "$dir/.git" ] && [ "$(git -C "$dir" remote get-url origin 2>/dev/null)" = "$url" ]; then
  git -C "$dir" fetch --quiet --tags --force --prune origin '+refs/heads/*:refs/remotes/origin/*'
  git -C "$dir" remote set-head origin -a >/dev/null 2>&1 || true
else
  rm -rf "$dir"
  git clone --quiet --no-checkout "$url" "$dir"
fi
cd "$dir"
kind=""
if [ -z "$ref" ]; then
  c=$(git rev-parse -q --verify 'refs/remotes/origin/HEAD^{commit}') || { echo "the repository has no default branch; give workdir.ref" >&2; exit 3; }
  ref=$(git symbolic-ref -q --short refs/remotes/origin/HEAD | sed 's|^origin/||'); kind=branch
elif c=$(git rev-parse -q --verify "refs/remotes/origin/$ref^{commit}"); then kind=branch
elif c=$(git rev-parse -q --verify "refs/tags/$ref^{commit}"); then kind=tag
elif c=$(git rev-parse -q --verify "$ref^{commit}"); then kind=commit
elif git fetch --quiet origin "$ref" 2>/dev/null && c=$(git rev-parse -q --verify 'FETCH_HEAD^{commit}'); then kind=commit
else echo "'$ref' is not a branch, tag or commit of $shown" >&2; exit 3; fi
if [ "$kind" = branch ]; then git checkout --quiet --force -B "$ref" "$c"; else git checkout --quiet --force --detach "$c"; fi
echo "checked-out $kind $c"
`;

/** GIT_TOKEN, and an ssh key from GIT_SSH_KEY (the key) or GIT_SSH_KEY_PATH (a file on this machine). */
function gitCredentials(secrets: Record<string, string>): { token: string; key: string } {
  let key = secrets.GIT_SSH_KEY ?? '';
  const path = secrets.GIT_SSH_KEY_PATH;
  if (!key && path) {
    const p = path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
    try {
      key = readFileSync(p, 'utf8').trim();
    } catch (err) {
      throw new UserError(`GIT_SSH_KEY_PATH: cannot read ${p} (${errorMessage(err)})`);
    }
  }
  return { token: (secrets.GIT_TOKEN ?? '').replace(/[\r\n]/g, ''), key };
}

export async function syncGitWorkdir(
  provider: Provider,
  cluster: string,
  nodes: NodeInfo[],
  git: GitWorkdir,
  secrets: Record<string, string>,
  progress: (m: string) => void,
): Promise<string> {
  const cred = gitCredentials(secrets);
  // the remote as the nodes reach it (a git server on this machine's 127.0.0.1, seen from a local
  // node with its own network, is at the node's gateway); messages name the user's URL
  const url = provider.nodeUrl?.(cluster, git.url) ?? git.url;
  const vars = `url=${shellQuote(url)}; shown=${shellQuote(git.url)}; ref=${shellQuote(git.ref ?? '')}; dir=${shellQuote(WORKDIR_ON_NODE)}`;
  // every node's clone settles before a failure is reported, and the lowest rank's failure is the
  // one named: the same failure on every node is one line, whichever node finished first
  const settled = await Promise.allSettled(
    nodes.map(async (n) => {
      const t = provider.transport(cluster, n);
      await ensureNodeTools(provider, t, n.rank, { rclone: false, fuse: false, git: true }, progress);
      const r = await t.exec(`${vars}\n${CLONE}`, { stdin: `${cred.token}\n${cred.key}`, timeoutMs: 900_000 });
      if (r.code !== 0) {
        const why = r.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
        throw new UserError(`workdir: cloning ${git.url}${git.ref ? ` at ${git.ref}` : ''} on node ${n.rank} failed: ${why || `exit code ${r.code}`}`);
      }
      return /checked-out (\w+) (\w+)/.exec(r.stdout);
    }),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const m = (settled[0] as PromiseFulfilledResult<RegExpExecArray | null> | undefined)?.value;
  return `cloned ${git.url} at ${m ? `${m[1]} ${git.ref ?? '(default branch)'} (${m[2]!.slice(0, 12)})` : git.ref ?? 'its default branch'} into ~/${WORKDIR_ON_NODE} on ${nodes.length} node(s)`;
}
