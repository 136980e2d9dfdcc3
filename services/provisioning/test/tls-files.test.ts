/**
 * A node's TLS material is read when its client is built: a path that is no PEM file (a device
 * such as /dev/zero, a folder, a missing file) makes the node unreachable (409 node-unreachable, naming it),
 * never a hung process or a 500. No daemon is contacted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeDockers } from '../src/docker/node-dockers';
import { readTlsFile } from '../src/docker/node-client';
import { DockerCallError } from '../src/docker/deadline';
import type { NodeRecord } from '../src/store/node-store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const node = (file: string): NodeRecord =>
  ({
    name: 'n1',
    dockerHost: 'tcp://127.0.0.1:9',
    tlsCaPath: file,
    tlsCertPath: file,
    tlsKeyPath: file,
    tlsSecretRef: null,
    insecure: false,
  }) as unknown as NodeRecord;

const failureOf = (file: string): DockerCallError => {
  try {
    new NodeDockers(1000, dir).for(node(file));
  } catch (err) {
    return err as DockerCallError;
  }
  throw new Error(`no failure for ${file}`);
};

test.each([
  ['a device', '/dev/zero', /not a regular file/],
  ['a folder', os.tmpdir(), /not a regular file/],
  ['a missing file', '/nonexistent/ca.pem', /ENOENT|no such file/],
])('%s as TLS material: the node is unreachable (409), named', (_what, file, message) => {
  const err = failureOf(file);
  expect(err).toBeInstanceOf(DockerCallError);
  expect([err.status, err.slug]).toEqual([409, 'node-unreachable']);
  expect(err.message).toMatch(/^node n1: read its TLS material: /);
  expect(err.message).toMatch(message);
});

test('a file over 1 MiB is refused, a PEM-sized one read', () => {
  const big = path.join(dir, 'big.pem');
  fs.writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x41));
  expect(() => readTlsFile(big)).toThrow(/at most 1 MiB/);
  const small = path.join(dir, 'ca.pem');
  fs.writeFileSync(small, '-----BEGIN CERTIFICATE-----\n');
  expect(readTlsFile(small).toString()).toContain('BEGIN CERTIFICATE');
});
