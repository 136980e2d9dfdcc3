/**
 * What a secret looks like wherever it might end up, and the search for it: a private key as its
 * PEM, each base64 line of it, chunks of its body (found even when re-wrapped or JSON-escaped),
 * its DER bytes as hex and as a serialised Buffer's numbers, its JWK private parts; a token whole
 * and its secret part alone; a password in the forms a password is written in.
 */
import { createPrivateKey } from 'node:crypto';

export interface Secret {
  /** What it is, for the report (never the value itself). */
  name: string;
  /** Any of these in a text is the secret leaking. */
  needles: (string | RegExp)[];
}

export interface Corpus {
  kind: string;
  items: { where: string; text: string }[];
}

export interface Hit {
  secret: string;
  corpus: string;
  where: string;
  /** A few characters around the hit, the secret itself masked. */
  context: string;
}

const MIN_NEEDLE = 16;

function pemBody(pem: string): string {
  return pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
}

/** A private key (PEM) in every form it could be written out in. */
export function privateKeySecret(name: string, pem: string): Secret {
  const text = pem.trim();
  const lines = text.split('\n').filter((l) => !l.startsWith('-----') && l.length >= 40);
  const body = pemBody(text);
  const der = Buffer.from(body, 'base64');
  const mid = Math.floor(der.length / 2);
  // Chunks of the joined body: a key re-wrapped at another width, or with its newlines escaped
  // (`\n` in JSON), still holds them once whitespace and escapes are squeezed out (see squeeze).
  const chunks = [0.25, 0.5, 0.75].map((f) =>
    body.slice(Math.floor(body.length * f), Math.floor(body.length * f) + 48),
  );
  const needles: (string | RegExp)[] = [
    text,
    ...lines,
    ...chunks,
    der.subarray(mid, mid + 24).toString('hex'),
    // A Buffer through JSON.stringify: {"type":"Buffer","data":[48,130,…]}.
    Array.from(der.subarray(mid, mid + 16)).join(','),
  ];
  const jwk = createPrivateKey(text).export({ format: 'jwk' });
  for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const v = jwk[part];
    if (typeof v === 'string' && v.length >= MIN_NEEDLE) needles.push(v);
  }
  return { name, needles };
}

/** A token (a JWT, an API token): the whole and the parts named (its signature, its secret). */
export function tokenSecret(name: string, token: string, parts: string[] = []): Secret {
  for (const p of parts)
    if (p.length < MIN_NEEDLE) throw new Error(`${name}: a part of ${p.length} characters is no needle`);
  return { name, needles: [token, ...parts] };
}

/** A JWT and its signature alone. */
export function jwtSecret(name: string, jwt: string): Secret {
  const signature = jwt.split('.')[2] ?? '';
  return tokenSecret(name, jwt, [signature]);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A password. Long enough to be distinctive, it is searched for alone; a short or common one
 * (the rig's is `testbed`, the platform's own name, in every other line) in the forms a password
 * is written in: a URL's `user:password@`, `password=…`, `"password":"…"`, `PGPASSWORD`.
 */
export function passwordSecret(name: string, password: string): Secret {
  const p = escapeRe(password);
  const needles: (string | RegExp)[] = [
    new RegExp(`:${p}@`),
    new RegExp(`:${escapeRe(encodeURIComponent(password))}@`),
    new RegExp(`pass(word)?["']?\\s*[:=]\\s*["']?${p}(?![A-Za-z0-9])`, 'i'),
    new RegExp(`PGPASSWORD\\W{0,3}${p}`),
  ];
  if (password.length >= MIN_NEEDLE) needles.push(password);
  return { name, needles };
}

/** The text with whitespace and JSON/JS escapes of whitespace removed (a PEM split over lines). */
export function squeeze(text: string): string {
  return text.replace(/\\r|\\n|\\t|\\u000[aA]|\s/g, '');
}

/** Around a hit, with the hit and any long base64-like run (more of the secret) masked. */
function mask(text: string, at: number, length: number): string {
  const hide = (t: string) =>
    t.replace(/[A-Za-z0-9+/=_-]{16,}|(\d{1,3},){6,}\d{0,3}/g, (m) => `<${m.length} chars>`);
  const before = hide(text.slice(Math.max(0, at - 60), at));
  const after = hide(text.slice(at + length, at + length + 60));
  return `${before}<${length} chars of the secret>${after}`;
}

function findNeedle(text: string, needle: string | RegExp): { at: number; length: number } | undefined {
  if (typeof needle === 'string') {
    const at = text.indexOf(needle);
    return at < 0 ? undefined : { at, length: needle.length };
  }
  const m = needle.exec(text);
  return m ? { at: m.index, length: m[0].length } : undefined;
}

/** Every (secret, item) where a needle of the secret is in the item's text, raw or squeezed. */
export function findSecrets(corpora: Corpus[], secrets: Secret[]): Hit[] {
  for (const s of secrets)
    for (const n of s.needles)
      if (typeof n === 'string' && n.length < MIN_NEEDLE)
        throw new Error(`${s.name}: a needle of ${n.length} characters would match by chance`);
  const hits: Hit[] = [];
  for (const corpus of corpora) {
    for (const item of corpus.items) {
      const squeezed = squeeze(item.text);
      for (const secret of secrets) {
        for (const needle of secret.needles) {
          const raw = findNeedle(item.text, needle);
          const found = raw ?? findNeedle(squeezed, needle);
          if (!found) continue;
          hits.push({
            secret: secret.name,
            corpus: corpus.kind,
            where: item.where,
            context: mask(raw ? item.text : squeezed, found.at, found.length),
          });
          break;
        }
      }
    }
  }
  return hits;
}
