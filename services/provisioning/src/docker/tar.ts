/** A minimal ustar writer: enough to put a few small files (ssh keys) into a container. */
export interface TarEntry {
  path: string;
  /** Absent for a directory. */
  content?: Buffer;
  mode: number;
}

function header(entry: TarEntry): Buffer {
  const h = Buffer.alloc(512, 0);
  const isDir = entry.content === undefined;
  const name = isDir && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar path too long: ${name}`);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  h.write(name, 0, 100, 'utf8');
  h.write(octal(entry.mode, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii'); // uid root
  h.write(octal(0, 8), 116, 8, 'ascii'); // gid root
  h.write(octal(isDir ? 0 : entry.content!.length, 12), 124, 12, 'ascii');
  h.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write(isDir ? '5' : '0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

export function buildTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(header(entry));
    if (entry.content) {
      parts.push(entry.content);
      const pad = (512 - (entry.content.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

/** `/root/.ssh/authorized_keys` (mode 600, folder 700, owned by root) for an archive put at `/`. */
export function authorizedKeysTar(keys: string[]): Buffer {
  const content = Buffer.from(keys.map((k) => k.trim()).join('\n') + '\n');
  return buildTar([
    { path: 'root/.ssh', mode: 0o700 },
    { path: 'root/.ssh/authorized_keys', content, mode: 0o600 },
  ]);
}
