// What `aloft api start|stop|status|login|logout` do (loaded only by those commands).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DaemonClient } from '../client/client.js';
import { ApiCallError, DaemonUnreachable } from '../client/http.js';
import { remoteEndpoint } from '../client/endpoint.js';
import { ensureDaemon, probe, waitForServer } from '../client/spawn.js';
import { clearStartSettings, readStartSettings, writeStartSettings, type StartSettings } from '../daemon/team/options.js';
import { UserError } from '../util/errors.js';
import { aloftHome, ensureHome, homePaths } from '../util/paths.js';
import { importYaml } from '../util/yaml-lazy.js';
import { checkConfig, note, printJson } from './context.js';
import { stopDaemon } from './commands/daemon.js';

export async function startServer(opts: { host: string; port: string; tlsCert?: string; tlsKey?: string; trustForwardedHeaders?: boolean; db?: string }): Promise<void> {
  const home = ensureHome(aloftHome());
  const paths = homePaths(home);
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port takes a TCP port (0-65535), not '${opts.port}'`);
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new UserError('--tls-cert and --tls-key go together');
  for (const [flag, file] of [['--tls-cert', opts.tlsCert], ['--tls-key', opts.tlsKey]] as const) {
    if (file && !existsSync(file)) throw new UserError(`${flag} ${file}: no such file`);
  }
  if (opts.db && !/^postgres(ql)?:\/\//.test(opts.db)) throw new UserError(`--db takes a postgresql:// URL, not '${opts.db.replace(/:[^:@/]*@/, ':***@')}'`);
  await checkConfig(home);
  const settings: StartSettings = {
    host: opts.host,
    port,
    ...(opts.tlsCert && opts.tlsKey ? { tlsCert: resolve(opts.tlsCert), tlsKey: resolve(opts.tlsKey) } : {}),
    ...(opts.trustForwardedHeaders ? { trustForwardedHeaders: true } : {}),
    ...(opts.db ? { db: opts.db } : {}),
  };
  const before = readStartSettings(home);
  const running = await probe(paths.socket);
  writeStartSettings(home, settings);
  // A daemon serving otherwise is replaced (its clusters and jobs keep running meanwhile).
  if (running && (JSON.stringify(before) !== JSON.stringify(settings) || !running.listen?.length)) await stopDaemon(paths);
  const info = await ensureDaemon(home);
  const url = info.listen?.[0];
  if (!url) throw new UserError(`the daemon (pid ${info.pid}) is not serving TCP; see \`aloft daemon logs\``);
  note(`API server listening on ${url} (pid ${info.pid}; state: ${info.state?.kind ?? 'sqlite'} ${info.state?.location ?? ''})`);
  const client = new DaemonClient({ home });
  const { users } = await client.call('usersList', {});
  if (users.length === 0) note('No users yet: aloft api users add NAME [--role admin], then aloft api tokens create --user NAME');
  note(`Clients: aloft api login ${url} --token TOKEN`);
}

export async function stopServer(): Promise<void> {
  const home = aloftHome();
  const had = readStartSettings(home);
  const pid = await stopDaemon(homePaths(home));
  clearStartSettings(home);
  if (pid === undefined) note(had.host ? 'API server not running; its settings are removed' : 'API server not running');
  else note(`API server stopped (pid ${pid}); clusters and jobs keep running`);
}

export async function serverStatus(json: boolean): Promise<void> {
  const home = aloftHome();
  const config = await checkConfig(home);
  const endpoint = remoteEndpoint(config?.apiServer);
  let info;
  try {
    info = endpoint ? await waitForServer(endpoint, 0) : await probe(homePaths(home).socket);
  } catch (err) {
    if (!(err instanceof DaemonUnreachable)) throw err;
  }
  const where = endpoint ? endpoint.url : homePaths(home).socket;
  if (json) printJson(info ? { running: true, endpoint: where, ...info } : { running: false, endpoint: where });
  else if (!info) process.stdout.write(`API server: not running (${where})\n`);
  else {
    process.stdout.write(
      `API server: running\n` +
        `listening: ${info.listen?.length ? info.listen.join(', ') : `local only (${info.socket})`}\n` +
        `state: ${info.state ? `${info.state.kind} (${info.state.location})` : 'sqlite'}\n` +
        `pid: ${info.pid}\nversion: ${info.version} (api ${info.apiVersion})\nuptime: ${info.uptimeSeconds}s\n`,
    );
  }
  if (!info) process.exitCode = 1;
}

export async function login(url: string, token?: string): Promise<void> {
  const home = ensureHome(aloftHome());
  const endpoint = remoteEndpoint({ endpoint: url }, {});
  const tok = token ?? process.env.ALOFT_API_TOKEN ?? (await askToken(url));
  if (!tok) throw new UserError('a token is needed: --token TOKEN (an admin prints one with `aloft api tokens create --user NAME`)');
  const client = new DaemonClient({ home, endpoint: { ...endpoint!, token: tok } });
  let me;
  try {
    me = await client.call('whoami', {});
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 401) throw new UserError(`${endpoint!.url} refused the token (unauthorized)`);
    if (err instanceof DaemonUnreachable) throw new UserError(err.message);
    throw err;
  }
  await editConfig(homePaths(home).config, (doc) => {
    doc.setIn(['api_server', 'endpoint'], endpoint!.url);
    doc.setIn(['api_server', 'service_account_token'], tok);
  });
  note(`Logged in to ${endpoint!.url} as ${me.user} (${me.role}); every command now uses it (aloft api logout: back to the local daemon).`);
}

export async function logout(): Promise<void> {
  const path = homePaths(aloftHome()).config;
  const config = await checkConfig(aloftHome());
  if (!config?.apiServer?.endpoint) note('not logged in to an API server');
  else {
    await editConfig(path, (doc) => {
      doc.deleteIn(['api_server', 'endpoint']);
      doc.deleteIn(['api_server', 'service_account_token']);
      const rest = doc.getIn(['api_server']) as { items?: unknown[] } | undefined;
      if (!rest || (rest.items && rest.items.length === 0)) doc.deleteIn(['api_server']);
    });
    note(`Logged out of ${config.apiServer.endpoint}; commands use the local daemon again.`);
  }
  if (process.env.ALOFT_API_SERVER_ENDPOINT) note(`aloft: ALOFT_API_SERVER_ENDPOINT is still set (${process.env.ALOFT_API_SERVER_ENDPOINT}) and wins over the config`);
}

/** Edits config.yaml keeping its comments and layout; the result is checked before it is written. */
async function editConfig(path: string, edit: (doc: import('yaml').Document) => void): Promise<void> {
  const YAML = await importYaml();
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const doc = YAML.parseDocument(text);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  edit(doc);
  const next = doc.toString();
  (await import('../spec/config.js')).parseConfig(next, path);
  // It holds a token: private, like the rest of ALOFT_HOME.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, next, { mode: 0o600 });
  renameSync(tmp, path);
}

async function askToken(url: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split('\n')[0]?.trim() || undefined;
  }
  const { createInterface } = await import('node:readline/promises');
  const { Writable } = await import('node:stream');
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const q = rl.question(`Token for ${url}: `);
  muted = true;
  try {
    return (await q).trim() || undefined;
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
