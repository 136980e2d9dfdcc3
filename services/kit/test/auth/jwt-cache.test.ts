/** The verified-token cache of the JWT authenticator never outlives a token's expiry. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKeyAuthenticator, loadOrCreateLocalKey, signLocalToken } from '../../src';

const verify = { issuer: 'testbed-local', audience: 'testbed' };

test('a token verified once is answered from the cache, and refused once it expires', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwt-cache-'));
  const key = await loadOrCreateLocalKey(dir);
  const auth = createKeyAuthenticator(key.publicKey, verify);
  const token = await signLocalToken(key, { subject: 'alice', role: 'user', ...verify, ttlSeconds: 2 });
  expect(await auth.verify(token)).toEqual({ subject: 'alice', role: 'user' });
  expect(await auth.verify(token)).toEqual({ subject: 'alice', role: 'user' });
  // A token signed by another key is refused even right after a good one.
  const other = await loadOrCreateLocalKey(fs.mkdtempSync(path.join(os.tmpdir(), 'jwt-cache-other-')));
  const forged = await signLocalToken(other, { subject: 'alice', role: 'operator', ...verify });
  await expect(auth.verify(forged)).rejects.toThrow(/signature/);
  await new Promise((r) => setTimeout(r, 2_100));
  await expect(auth.verify(token)).rejects.toThrow(/expired/);
  fs.rmSync(dir, { recursive: true, force: true });
});
