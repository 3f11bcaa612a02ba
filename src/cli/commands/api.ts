// `aloft api …`: run this home's daemon as a team's API server (TCP, TLS, users and tokens,
// PostgreSQL state), and point a client at one (`login` / `logout`). Like SkyPilot's `sky api`.
import { type Command, Option } from 'commander';
import { note, outputOption, printJson } from '../context.js';

const out = () => new Option('-o, --output <format>', 'table or json').default('table').argParser(outputOption);

/** The daemon (or API server) this CLI uses, loaded when a command runs. */
const daemon = async () => (await import('../context.js')).daemon();

/** A listing: `list` as is with `-o json`, else a table whose cells `row` gives (times as ages). */
async function printList<T>(output: string, list: T[], headers: string[], row: (item: T, ago: (ts: number | undefined) => string) => string[]): Promise<void> {
  if (output === 'json') return printJson(list);
  const { table, ago } = await import('../table.js');
  process.stdout.write(table(headers, list.map((item) => row(item, ago))) + '\n');
}

export function register(program: Command): void {
  const api = program.command('api').description('Serve a team (aloft api start) or use a team\'s API server (aloft api login)');

  api
    .command('start')
    .description('run the daemon as an API server on TCP (returns once it listens); settings are kept for later restarts')
    .option('--host <address>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--port <port>', 'TCP port', '46580')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--trust-forwarded-headers', 'behind a reverse proxy: take the client address from X-Forwarded-For/-Proto')
    .option('--db <url>', 'keep all state in PostgreSQL (postgresql://USER:PASSWORD@HOST:PORT/DB) instead of ALOFT_HOME/state.db')
    .action(async (opts: { host: string; port: string; tlsCert?: string; tlsKey?: string; trustForwardedHeaders?: boolean; db?: string }) => {
      const { startServer } = await import('../api-server.js');
      await startServer(opts);
    });

  api
    .command('stop')
    .description('stop the API server (clusters and jobs keep running); later commands start a local-only daemon')
    .action(async () => {
      const { stopServer } = await import('../api-server.js');
      await stopServer();
    });

  api
    .command('status')
    .description('whether the API server this CLI uses answers: version, addresses, state, uptime')
    .addOption(out())
    .action(async (opts: { output: string }) => {
      const { serverStatus } = await import('../api-server.js');
      await serverStatus(opts.output === 'json');
    });

  api
    .command('info')
    .description('which API server this CLI uses and who you are to it')
    .addOption(out())
    .action(async (opts: { output: string }) => {
      const client = await daemon();
      const [info, me] = await Promise.all([client.call('info', {}), client.call('whoami', {})]);
      const endpoint = client.remote ? (client.endpoint as { url: string }).url : `local daemon (${info.socket})`;
      if (opts.output === 'json') return printJson({ endpoint, user: me.user, role: me.role, version: info.version, apiVersion: info.apiVersion, state: info.state ?? null, listen: info.listen ?? [] });
      process.stdout.write(
        `API server: ${endpoint}\nuser: ${me.user} (${me.role})\nversion: ${info.version} (api ${info.apiVersion})\n` +
          (info.state ? `state: ${info.state.kind} (${info.state.location})\n` : ''),
      );
    });

  api
    .command('login')
    .description('use a team\'s API server from now on (writes api_server in ALOFT_HOME/config.yaml)')
    .argument('<url>', 'the server, e.g. https://aloft.example.com')
    .option('--token <token>', 'your token (else ALOFT_API_TOKEN, else asked for)')
    .action(async (url: string, opts: { token?: string }) => {
      const { login } = await import('../api-server.js');
      await login(url, opts.token);
    });

  api
    .command('logout')
    .description('go back to the local daemon (removes api_server from ALOFT_HOME/config.yaml)')
    .action(async () => {
      const { logout } = await import('../api-server.js');
      await logout();
    });

  const users = api.command('users').description('who may use the API server (admins only)');
  users
    .command('add')
    .argument('<name>')
    .option('--role <role>', 'admin or user', 'user')
    .description('add a user (then: aloft api tokens create --user NAME)')
    .action(async (name: string, opts: { role: string }) => {
      if (opts.role !== 'admin' && opts.role !== 'user') throw new Error(`--role takes admin or user, not '${opts.role}'`);
      const { user } = await (await daemon()).call('usersAdd', { name, role: opts.role });
      note(`user ${user.name} added (${user.role}); give them a token: aloft api tokens create --user ${user.name}`);
    });
  users
    .command('list')
    .description('users and their roles')
    .addOption(out())
    .action(async (opts: { output: string }) => {
      const { users: list } = await (await daemon()).call('usersList', {});
      await printList(opts.output, list, ['NAME', 'ROLE', 'CREATED'], (u, ago) => [u.name, u.role, ago(u.createdAt)]);
    });
  users
    .command('remove')
    .argument('<name>')
    .description('remove a user and revoke their tokens (what they launched stays)')
    .action(async (name: string) => {
      await (await daemon()).call('usersRemove', { name });
      note(`user ${name} removed; their tokens are revoked`);
    });

  const tokens = api.command('tokens').description('bearer tokens (admins only)');
  tokens
    .command('create')
    .requiredOption('--user <name>', 'the user the token acts as')
    .option('--label <text>', 'a note to recognise it by in `tokens list`')
    .description('create a token and print it on stdout (it is shown only this once)')
    .action(async (opts: { user: string; label?: string }) => {
      const { id, token } = await (await daemon()).call('tokensCreate', { user: opts.user, ...(opts.label ? { label: opts.label } : {}) });
      process.stdout.write(token + '\n');
      note(`token ${id} for ${opts.user} (revoke with: aloft api tokens revoke ${id})`);
    });
  tokens
    .command('list')
    .description('tokens: id, user, created, last used, revoked (never the token)')
    .addOption(out())
    .action(async (opts: { output: string }) => {
      const { tokens: list } = await (await daemon()).call('tokensList', {});
      await printList(opts.output, list, ['ID', 'USER', 'LABEL', 'CREATED', 'LAST USED', 'STATUS'], (t, ago) => [
        t.id,
        t.user,
        t.label ?? '-',
        ago(t.createdAt),
        ago(t.lastUsedAt),
        t.revokedAt ? `revoked ${ago(t.revokedAt)}` : 'active',
      ]);
    });
  tokens
    .command('revoke')
    .argument('<id>')
    .description('revoke a token: requests carrying it are refused from now on')
    .action(async (id: string) => {
      await (await daemon()).call('tokensRevoke', { id });
      note(`token ${id} revoked`);
    });

  api
    .command('audit')
    .description('who launched, stopped, downed, cancelled what (newest first; admins only)')
    .option('-n, --limit <n>', 'how many entries', '50')
    .addOption(out())
    .action(async (opts: { limit: string; output: string }) => {
      const n = Number(opts.limit);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--limit takes a whole number ≥ 1, not '${opts.limit}'`);
      const { entries } = await (await daemon()).call('audit', { limit: n });
      await printList(opts.output, entries, ['WHEN', 'USER', 'ACTION', 'TARGET', 'OUTCOME', 'FROM'], (e, ago) => [
        ago(e.ts),
        e.user,
        e.action,
        e.target,
        e.outcome + (e.error ? `: ${e.error.split('\n')[0]}` : ''),
        e.address ?? 'local',
      ]);
    });
}
