import fs from 'node:fs';
import type { Page } from 'playwright-core';

/**
 * What the tests check of any page besides its own behaviour: accessibility (axe-core) and that
 * nothing is wider than the viewport. The functions passed to page.evaluate run in Chromium.
 */

/**
 * The little of the page's globals the in-page functions below touch (the test code is checked
 * without the DOM library; these functions run in Chromium, not in Node).
 */
interface InPage {
  document: { documentElement: { scrollWidth: number; clientWidth: number } };
}

/** axe-core inside the page: the violations of impact serious or critical. */
export async function seriousViolations(
  page: Page,
): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: source });
  const result = (await page.evaluate(async () => {
    const w = globalThis as unknown as InPage & {
      axe: { run: (ctx: unknown, opts: object) => Promise<unknown> };
    };
    return w.axe.run(w.document, { resultTypes: ['violations'] });
  })) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
}

/**
 * How far the page scrolls sideways (content wider than the viewport), once the layout settled
 * after a resize: charts resize on the next frames, so this waits up to 3 s for it to reach 0.
 */
export async function horizontalOverflow(page: Page): Promise<number> {
  const deadline = Date.now() + 3000;
  let overflow = await overflowNow(page);
  while (overflow > 0 && Date.now() < deadline) {
    await page.waitForTimeout(100);
    overflow = await overflowNow(page);
  }
  if (overflow > 0) console.log(`wider than the viewport:\n${(await widest(page)).join('\n')}`);
  return overflow;
}

/** The elements reaching past the viewport's right edge (what a failing overflow check names). */
async function widest(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    interface El {
      tagName: string;
      className: unknown;
      getBoundingClientRect(): { right: number };
    }
    const d = (
      globalThis as unknown as {
        document: { documentElement: { clientWidth: number }; querySelectorAll(s: string): ArrayLike<El> };
      }
    ).document;
    const width = d.documentElement.clientWidth;
    return Array.from(d.querySelectorAll('body *'))
      .filter((e) => e.getBoundingClientRect().right > width + 1)
      .slice(0, 12)
      .map(
        (e) =>
          `${e.tagName.toLowerCase()}.${String(e.className)} right=${Math.round(e.getBoundingClientRect().right)}`,
      );
  });
}

async function overflowNow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as InPage).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}
