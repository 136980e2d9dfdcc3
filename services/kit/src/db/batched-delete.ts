/**
 * Repeats a bounded DELETE (one statement per batch, so no long lock) until a batch deletes fewer
 * rows than asked or `maxBatches` ran; answers the rows deleted. The leader's prune tasks use it.
 */
export async function deleteInBatches(
  deleteBatch: (batch: number) => Promise<number>,
  opts: { batch?: number; maxBatches?: number } = {},
): Promise<number> {
  const batch = opts.batch ?? 5000;
  const maxBatches = opts.maxBatches ?? 20;
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = await deleteBatch(batch);
    total += n;
    if (n < batch) break;
  }
  return total;
}
