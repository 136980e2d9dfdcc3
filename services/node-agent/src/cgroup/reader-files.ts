import type { InterfaceCounters } from '../wire/sample-batch';
import { KeptOpenFile, openAll, openIfPresent } from './kept-open-file';
import { parseNetDev } from './net-dev';

/** The files one container's counter reader keeps open, with their closing and the interfaces. */
export interface ReaderFiles<R extends string, O extends string> {
  required: Record<R, KeptOpenFile>;
  optional: Partial<Record<O, KeptOpenFile>>;
  /** The container's interfaces from `/proc/<pid>/net/dev`; none on the host's network. */
  interfaces(): InterfaceCounters[];
  close(): void;
}

/**
 * Opens a reader's files once, for both cgroup versions: every required file or none; each
 * optional one where it exists (a limit whose controller is absent; an undefined path is not
 * looked for); the process's `net/dev` when the container has a network of its own. A failure
 * closes whatever was opened.
 */
export function openReaderFiles<R extends string, O extends string>(
  required: Record<R, string>,
  optional: Record<O, string | undefined>,
  netDevPath: string | undefined,
): ReaderFiles<R, O> {
  const files = openAll(required);
  const opened: Partial<Record<O, KeptOpenFile>> = {};
  let netDev: KeptOpenFile | undefined;
  const all = () => [...Object.values<KeptOpenFile>(files), ...(Object.values(opened) as KeptOpenFile[])];
  const close = () => {
    for (const f of all()) f.close();
    netDev?.close();
  };
  try {
    for (const key of Object.keys(optional) as O[]) {
      const p = optional[key];
      const f = p === undefined ? undefined : openIfPresent(p);
      if (f) opened[key] = f;
    }
    netDev = netDevPath ? new KeptOpenFile(netDevPath) : undefined;
  } catch (err) {
    close();
    throw err;
  }
  return {
    required: files,
    optional: opened,
    interfaces: () => (netDev ? parseNetDev(netDev.read(), netDev.path) : []),
    close,
  };
}
