// A Google Cloud Storage JSON-API fake on loopback: what rclone, gsutil, `gcloud storage` and
// @google-cloud/storage use to list, create and delete buckets, upload objects (simple, multipart
// and resumable uploads), download them (alt=media, ranges), list with prefix / delimiter /
// pageToken, copy/rewrite and delete. Objects are files on disk; metadata is kept in memory.
// Credentials are not checked (any or no Authorization header is accepted): aloft's credential
// delivery is proven against the S3 server, which refuses unsigned requests.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from './crc32c.js';

export interface GcsObject {
  name: string;
  bucket: string;
  generation: string;
  metageneration: string;
  contentType: string;
  size: string;
  md5Hash: string;
  crc32c: string;
  etag: string;
  timeCreated: string;
  updated: string;
  storageClass: string;
  metadata?: Record<string, string>;
  file: string;
}

interface Bucket {
  name: string;
  timeCreated: string;
  objects: Map<string, GcsObject>;
}

interface Resumable {
  bucket: string;
  meta: Record<string, unknown>;
  file: string;
  received: number;
}

export interface GcsFake {
  endpoint: string;
  port: number;
  project: string;
  directory: string;
  /** environment for gcloud/gsutil (CLOUDSDK_*, BOTO_CONFIG) and aloft (STORAGE_EMULATOR_HOST) */
  env: Record<string, string>;
  buckets(): string[];
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const now = () => new Date().toISOString();

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Splits a multipart/related body (metadata JSON part, then the media part); CRLF or LF line ends. */
function splitMultipart(body: Buffer, contentType: string): { meta: Record<string, unknown>; media: Buffer; mediaType?: string } {
  const m = /boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2] ?? m?.[3];
  if (!boundary) throw new HttpError(400, 'multipart upload without a boundary');
  const text = body.toString('latin1'); // byte-for-byte, so the media part survives
  const parts = text.split(`--${boundary}`).slice(1, -1);
  const parsed = parts.map((p) => {
    const part = p.replace(/^\r?\n/, '');
    // a part may have no headers at all (rclone's media part): then it starts with the blank line
    const sep = /^\r?\n/.exec(part) ?? /\r?\n\r?\n/.exec(part);
    if (!sep) throw new HttpError(400, 'multipart part without a blank line after its headers');
    const head = part.slice(0, sep.index);
    const content = part.slice(sep.index + sep[0].length).replace(/\r?\n$/, '');
    return { type: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim(), content: Buffer.from(content, 'latin1') };
  });
  if (parsed.length < 2) throw new HttpError(400, 'multipart upload needs a metadata part and a media part');
  return { meta: JSON.parse(parsed[0]!.content.toString('utf8') || '{}'), media: parsed[1]!.content, mediaType: parsed[1]!.type };
}

export async function startGcsFake(opts: { port?: number; directory?: string; project?: string } = {}): Promise<GcsFake> {
  const own = !opts.directory;
  const directory = opts.directory ?? mkdtempSync(join(tmpdir(), 'aloft-gcs-'));
  mkdirSync(join(directory, 'objects'), { recursive: true });
  const project = opts.project ?? 'aloft-test';
  const buckets = new Map<string, Bucket>();
  const uploads = new Map<string, Resumable>();
  let generation = Date.now() * 1000;
  let httpBase = '';

  const bucketJson = (b: Bucket, base: string) => ({
    kind: 'storage#bucket',
    id: b.name,
    selfLink: `${base}/storage/v1/b/${b.name}`,
    name: b.name,
    projectNumber: '123456789',
    metageneration: '1',
    location: 'US',
    storageClass: 'STANDARD',
    etag: 'CAE=',
    timeCreated: b.timeCreated,
    updated: b.timeCreated,
    iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, bucketPolicyOnly: { enabled: true } },
  });
  const objectJson = (o: GcsObject, base: string) => {
    const { file: _file, ...rest } = o;
    const enc = encodeURIComponent(o.name);
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${base}/storage/v1/b/${o.bucket}/o/${enc}`,
      mediaLink: `${base}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
      ...rest,
    };
  };
  const getBucket = (name: string) => {
    const b = buckets.get(name);
    if (!b) throw new HttpError(404, `The specified bucket does not exist.`);
    return b;
  };
  const getObject = (b: Bucket, name: string) => {
    const o = b.objects.get(name);
    if (!o) throw new HttpError(404, `No such object: ${b.name}/${name}`);
    return o;
  };

  /** Stores the file at `tmp` as object `name` (moved into place), with its hashes. */
  const commit = (b: Bucket, name: string, tmp: string, meta: Record<string, unknown>, contentType?: string): GcsObject => {
    const data = readFileSync(tmp);
    const file = join(directory, 'objects', `${randomBytes(12).toString('hex')}`);
    renameSync(tmp, file);
    const old = b.objects.get(name);
    if (old) rmSync(old.file, { force: true });
    const t = now();
    const o: GcsObject = {
      name,
      bucket: b.name,
      generation: String(++generation),
      metageneration: '1',
      contentType: (meta.contentType as string | undefined) ?? contentType ?? 'application/octet-stream',
      size: String(data.length),
      md5Hash: createHash('md5').update(data).digest('base64'),
      crc32c: crc32c(data),
      etag: randomBytes(6).toString('base64'),
      timeCreated: t,
      updated: t,
      storageClass: 'STANDARD',
      ...(meta.metadata ? { metadata: meta.metadata as Record<string, string> } : {}),
      file,
    };
    b.objects.set(name, o);
    return o;
  };
  const tmpFile = () => join(directory, 'objects', `.tmp-${randomBytes(8).toString('hex')}`);
  const writeTmp = (data: Buffer) => {
    const t = tmpFile();
    writeFileSync(t, data);
    return t;
  };

  const list = (b: Bucket, q: URLSearchParams, base: string) => {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const startOffset = q.get('startOffset') ?? '';
    const max = Math.min(Number(q.get('maxResults') ?? 1000) || 1000, 1000);
    const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString() : '';
    const names = [...b.objects.keys()].filter((n) => n.startsWith(prefix) && n >= startOffset).sort();
    // objects and "directories" (common prefixes) in name order, paged together
    const entries: Array<{ key: string; prefix?: string; obj?: GcsObject }> = [];
    const seen = new Set<string>();
    for (const n of names) {
      const rest = n.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const p = prefix + rest.slice(0, cut + delimiter.length);
        if (!seen.has(p)) {
          seen.add(p);
          entries.push({ key: p, prefix: p });
        }
      } else entries.push({ key: n, obj: b.objects.get(n)! });
    }
    const page = entries.filter((e) => e.key > after).slice(0, max);
    const more = entries.filter((e) => e.key > after).length > page.length;
    const items = page.filter((e) => e.obj).map((e) => objectJson(e.obj!, base));
    const prefixes = page.filter((e) => e.prefix).map((e) => e.prefix!);
    return {
      kind: 'storage#objects',
      ...(items.length ? { items } : {}),
      ...(prefixes.length ? { prefixes } : {}),
      ...(more ? { nextPageToken: Buffer.from(page[page.length - 1]!.key).toString('base64url') } : {}),
    };
  };

  const sendMedia = (req: IncomingMessage, res: ServerResponse, o: GcsObject) => {
    const size = Number(o.size);
    const headers: Record<string, string> = {
      'content-type': o.contentType,
      'x-goog-generation': o.generation,
      'x-goog-metageneration': o.metageneration,
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      'x-goog-stored-content-length': String(size),
      'x-goog-stored-content-encoding': 'identity',
      etag: o.etag,
      'last-modified': new Date(o.updated).toUTCString(),
      'accept-ranges': 'bytes',
    };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && size > 0) {
      let start = range[1] ? Number(range[1]) : size - Number(range[2]);
      let end = range[1] && range[2] ? Number(range[2]) : size - 1;
      start = Math.max(0, start);
      end = Math.min(end, size - 1);
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${size}` });
      createReadStream(o.file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(size) });
    if (req.method === 'HEAD' || size === 0) res.end();
    else createReadStream(o.file).pipe(res);
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) }).end(text);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // URLs the fake hands out (selfLink, mediaLink, resumable Location) follow the scheme and port
    // the request came in on: gsutil speaks only https, the other clients plain http.
    if (process.env.ALOFT_GCS_FAKE_DEBUG) process.stderr.write(`gcs-fake: ${req.method} ${req.url}\n`);
    const base = `${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${req.headers.host ?? httpBase.slice(7)}`;
    const url = new URL(req.url ?? '/', base);
    const q = url.searchParams;
    // gsutil starts resumable uploads under /resumable/upload/...
    const path = url.pathname.replace(/\/+$/, '').replace(/^\/resumable\/upload\//, '/upload/');
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;

    // ---- uploads ----
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path))) {
      const b = getBucket(decodeURIComponent(m[1]!));
      const type = q.get('uploadType');
      if (type === 'resumable') {
        const id = q.get('upload_id');
        if (!id) {
          if (method !== 'POST') throw new HttpError(400, 'resumable uploads start with POST');
          const body = await readBody(req);
          const meta = body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
          if (q.get('name')) meta.name = q.get('name');
          if (!meta.contentType && req.headers['x-upload-content-type']) meta.contentType = req.headers['x-upload-content-type'];
          const uid = randomBytes(16).toString('hex');
          const file = tmpFile();
          writeFileSync(file, '');
          uploads.set(uid, { bucket: b.name, meta, file, received: 0 });
          res.writeHead(200, { location: `${base}/upload/storage/v1/b/${b.name}/o?uploadType=resumable&upload_id=${uid}`, 'x-guploader-uploadid': uid, 'content-length': '0' }).end();
          return;
        }
        const up = uploads.get(id);
        if (!up) throw new HttpError(404, 'no such upload');
        if (method === 'DELETE') {
          uploads.delete(id);
          rmSync(up.file, { force: true });
          res.writeHead(499).end();
          return;
        }
        const body = await readBody(req);
        const cr = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(String(req.headers['content-range'] ?? ''));
        let total: number | undefined;
        if (cr) {
          if (cr[2] !== undefined) {
            const start = Number(cr[2]);
            if (start !== up.received) throw new HttpError(400, `chunk starts at ${start}, expected ${up.received}`);
            appendFileSync(up.file, body);
            up.received += body.length;
          }
          if (cr[4] !== '*') total = Number(cr[4]);
        } else {
          appendFileSync(up.file, body);
          up.received += body.length;
          total = up.received;
        }
        if (total !== undefined && up.received >= total) {
          uploads.delete(id);
          const o = commit(b, String(up.meta.name), up.file, up.meta, req.headers['content-type']);
          json(res, 200, objectJson(o, base));
          return;
        }
        res.writeHead(308, up.received > 0 ? { range: `bytes=0-${up.received - 1}`, 'content-length': '0' } : { 'content-length': '0' }).end();
        return;
      }
      if (method !== 'POST' && method !== 'PUT') throw new HttpError(405, 'uploads are POST');
      const body = await readBody(req);
      if (type === 'multipart') {
        const mp = splitMultipart(body, String(req.headers['content-type'] ?? ''));
        const name = (mp.meta.name as string | undefined) ?? q.get('name');
        if (!name) throw new HttpError(400, 'upload needs an object name');
        json(res, 200, objectJson(commit(b, name, writeTmp(mp.media), mp.meta, mp.mediaType), base));
        return;
      }
      const name = q.get('name');
      if (!name) throw new HttpError(400, 'upload needs ?name=');
      json(res, 200, objectJson(commit(b, name, writeTmp(body), {}, req.headers['content-type']), base));
      return;
    }

    // ---- downloads ----
    if ((m = /^\/download\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const o = getObject(getBucket(decodeURIComponent(m[1]!)), decodeURIComponent(m[2]!));
      sendMedia(req, res, o);
      return;
    }

    // ---- buckets ----
    if (path === '/storage/v1/b') {
      if (method === 'GET') {
        const prefix = q.get('prefix') ?? '';
        json(res, 200, { kind: 'storage#buckets', items: [...buckets.values()].filter((b) => b.name.startsWith(prefix)).map((x) => bucketJson(x, base)) });
        return;
      }
      if (method === 'POST') {
        const meta = JSON.parse((await readBody(req)).toString() || '{}') as { name?: string };
        if (!meta.name || !/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(meta.name)) throw new HttpError(400, 'Invalid bucket name');
        if (buckets.has(meta.name)) throw new HttpError(409, 'Your previous request to create the named bucket succeeded and you already own it.');
        const b: Bucket = { name: meta.name, timeCreated: now(), objects: new Map() };
        buckets.set(b.name, b);
        json(res, 200, bucketJson(b, base));
        return;
      }
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)$/.exec(path))) {
      const b = getBucket(decodeURIComponent(m[1]!));
      if (method === 'GET') return json(res, 200, bucketJson(b, base));
      if (method === 'PATCH') return json(res, 200, bucketJson(b, base));
      if (method === 'DELETE') {
        if (b.objects.size > 0) throw new HttpError(409, 'The bucket you tried to delete is not empty.');
        buckets.delete(b.name);
        res.writeHead(204).end();
        return;
      }
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/iam\/testPermissions$/.exec(path))) {
      getBucket(decodeURIComponent(m[1]!));
      return json(res, 200, { kind: 'storage#testIamPermissionsResponse', permissions: q.getAll('permissions') });
    }

    // ---- objects ----
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && method === 'GET') {
      return json(res, 200, list(getBucket(decodeURIComponent(m[1]!)), q, base));
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)\/(copyTo|rewriteTo)\/b\/([^/]+)\/o\/(.+)$/.exec(path)) && method === 'POST') {
      const src = getObject(getBucket(decodeURIComponent(m[1]!)), decodeURIComponent(m[2]!));
      const dst = getBucket(decodeURIComponent(m[4]!));
      const body = await readBody(req);
      const meta = body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
      const tmp = tmpFile();
      writeFileSync(tmp, readFileSync(src.file));
      const o = commit(dst, decodeURIComponent(m[5]!), tmp, { contentType: src.contentType, metadata: src.metadata, ...meta });
      if (m[3] === 'copyTo') return json(res, 200, objectJson(o, base));
      return json(res, 200, { kind: 'storage#rewriteResponse', totalBytesRewritten: o.size, objectSize: o.size, done: true, resource: objectJson(o, base) });
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const b = getBucket(decodeURIComponent(m[1]!));
      const name = decodeURIComponent(m[2]!);
      const o = getObject(b, name);
      if (method === 'GET' || method === 'HEAD') {
        if (q.get('alt') === 'media') return sendMedia(req, res, o);
        return json(res, 200, objectJson(o, base));
      }
      if (method === 'DELETE') {
        b.objects.delete(name);
        rmSync(o.file, { force: true });
        res.writeHead(204).end();
        return;
      }
      if (method === 'PATCH' || method === 'PUT') {
        const meta = JSON.parse((await readBody(req)).toString() || '{}') as Record<string, unknown>;
        if (meta.metadata) o.metadata = { ...o.metadata, ...(meta.metadata as Record<string, string>) };
        if (typeof meta.contentType === 'string') o.contentType = meta.contentType;
        o.metageneration = String(Number(o.metageneration) + 1);
        o.updated = now();
        return json(res, 200, objectJson(o, base));
      }
    }
    throw new HttpError(404, `not found: ${method} ${path}`);
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = (err as Error).message;
      if (!res.headersSent) json(res, status, { error: { code: status, message, errors: [{ message, reason: status === 404 ? 'notFound' : 'invalid' }] } });
      else res.destroy();
    });
  };
  const server = http.createServer(onRequest);
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  httpBase = `http://127.0.0.1:${port}`;
  // gsutil's JSON API client only speaks https: a second listener with a certificate of our own
  const tls = selfSignedCert(directory);
  const secure = https.createServer({ key: tls.key, cert: tls.cert }, onRequest);
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  const httpsPort = (secure.address() as AddressInfo).port;
  const boto = join(directory, 'boto.cfg');
  writeFileSync(
    boto,
    [
      '[Credentials]',
      'gs_json_host = 127.0.0.1',
      `gs_json_port = ${httpsPort}`,
      '[Boto]',
      `ca_certificates_file = ${tls.certFile}`,
      'num_retries = 1',
      'max_retry_delay = 1',
      '[GSUtil]',
      `default_project_id = ${project}`,
      'prefer_api = json',
      'check_hashes = always',
      '',
    ].join('\n'),
  );
  return {
    endpoint: httpBase,
    port,
    project,
    directory,
    env: {
      STORAGE_EMULATOR_HOST: httpBase,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${httpBase}/storage/v1/`,
      // gcloud passes this to gsutil as its CA file; gsutil reaches the https listener with it
      CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: tls.certFile,
      CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'True',
      CLOUDSDK_CORE_PROJECT: project,
      BOTO_CONFIG: boto,
    },
    buckets: () => [...buckets.keys()].sort(),
    async stop() {
      server.closeAllConnections();
      secure.closeAllConnections();
      await Promise.all([new Promise<void>((r) => server.close(() => r())), new Promise<void>((r) => secure.close(() => r()))]);
      if (own) rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A certificate for 127.0.0.1 (openssl is on every Debian box), valid two days. */
function selfSignedCert(dir: string): { key: Buffer; cert: Buffer; certFile: string } {
  const keyFile = join(dir, 'tls.key');
  const certFile = join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

/** `npm run fake -- gcs [--write-config DIR]`: writes DIR/gcs.env (gcloud/gsutil/aloft settings). */
export async function serveForeground(o: { fixture?: string; configDir: string }): Promise<{ lines: string[]; stop(): Promise<void> }> {
  const gcs = await startGcsFake({ directory: join(o.configDir, 'gcs-data') });
  const envFile = join(o.configDir, 'gcs.env');
  writeFileSync(envFile, Object.entries(gcs.env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  return {
    lines: [
      `GCS JSON API on ${gcs.endpoint} (project ${gcs.project})`,
      `settings: ${envFile}  (set -a; . ${envFile}; set +a; gsutil ls; gcloud storage ls)`,
    ],
    stop: () => gcs.stop(),
  };
}
