// The fake's credentials: a real service-account key (RSA), written as the JSON file Google issues,
// and a check of the self-signed JWTs that Google's client libraries send with it (RS256 over
// `header.payload`, issuer = the account's e-mail, not expired). gcloud with
// auth/disable_credentials sends no Authorization header; that is let through, a wrong one is not.
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export interface ServiceAccount {
  json: Record<string, string>;
  publicKey: KeyObject;
  email: string;
}

export function makeServiceAccount(project: string, tokenUri: string): ServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const email = `aloft-fake@${project}.iam.gserviceaccount.com`;
  return {
    email,
    publicKey: createPublicKey(publicKey),
    json: {
      type: 'service_account',
      project_id: project,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey,
      client_email: email,
      client_id: String(100000000000000000000n + BigInt(randomBytes(6).readUIntBE(0, 6))),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      universe_domain: 'googleapis.com',
    },
  };
}

const b64 = (s: string) => Buffer.from(s, 'base64url').toString('utf8');

/** undefined when the request may go on, else the reason it is unauthenticated. */
export function checkBearer(header: string | undefined, sa: ServiceAccount, now = Date.now()): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer (.+)$/.exec(header);
  if (!m) return 'Request had invalid authentication credentials.';
  const parts = m[1]!.split('.');
  if (parts.length !== 3) return 'Request had invalid authentication credentials. Expected OAuth 2 access token or other valid authentication credential.';
  try {
    const payload = JSON.parse(b64(parts[1]!)) as { iss?: string; exp?: number };
    const v = createVerify('RSA-SHA256');
    v.update(`${parts[0]}.${parts[1]}`);
    if (!v.verify(sa.publicKey, Buffer.from(parts[2]!, 'base64url'))) return 'Invalid JWT Signature.';
    if (payload.iss !== sa.email) return `Invalid JWT: unknown issuer ${payload.iss}`;
    if (typeof payload.exp === 'number' && payload.exp * 1000 < now) return 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.';
  } catch {
    return 'Request had invalid authentication credentials.';
  }
  return undefined;
}
