/**
 * The one way tests wait for something that happens asynchronously: poll a check until it
 * answers, bounded (STYLE 13), failing with what was awaited and the last error the check threw.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** `waitFor` with the probe first, for checks that answer a truthy value once done (every 200 ms). */
export function eventually<T>(
  probe: () => Promise<T | undefined | false | null | 0 | ''>,
  ms: number,
  what: string,
): Promise<T> {
  return waitFor(what, async () => (await probe()) || undefined, ms, 200) as Promise<T>;
}
