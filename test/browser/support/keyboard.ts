import type { Page } from 'playwright-core';

interface InPage {
  document: {
    activeElement: FocusedElement | null;
    querySelector(s: string): { contains(e: unknown): boolean } | null;
  };
  getComputedStyle(e: FocusedElement): { outlineStyle: string; outlineWidth: string; boxShadow: string };
}
interface FocusedElement {
  tagName: string;
  id: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  labels?: { textContent: string | null }[] | null;
}

/** The focused element: its accessible name as a person would hear it, and whether focus is drawn. */
export async function focused(page: Page): Promise<{ tag: string; name: string; visible: boolean }> {
  return page.evaluate(() => {
    const w = globalThis as unknown as InPage;
    const e = w.document.activeElement;
    if (!e) return { tag: '', name: '', visible: false };
    let label = e.getAttribute('aria-label');
    if (!label && e.labels && e.labels.length > 0) label = e.labels[0]!.textContent;
    const name = (label ?? e.textContent ?? '').replace(/\s+/g, ' ').trim();
    const style = w.getComputedStyle(e);
    const visible =
      (style.outlineStyle !== 'none' && style.outlineWidth !== '0px') ||
      (style.boxShadow !== 'none' && style.boxShadow !== '');
    return { tag: e.tagName.toLowerCase(), name, visible };
  });
}

/**
 * Presses Tab (or Shift+Tab) until the focused element's name matches, at most `max` times:
 * the element is reachable by keyboard, in focus order, and its focus is visible.
 */
export async function tabTo(
  page: Page,
  name: RegExp,
  opts: { max?: number; back?: boolean } = {},
): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < (opts.max ?? 60); i++) {
    await page.keyboard.press(opts.back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    seen.push(`${f.tag}:${f.name}`);
    if (name.test(f.name)) {
      if (!f.visible) throw new Error(`focus on "${f.name}" is not visible (no outline or ring)`);
      return;
    }
  }
  throw new Error(
    `no element named ${name} within ${opts.max ?? 60} Tab presses; focus went through:\n${seen.join('\n')}`,
  );
}

/** Whether focus is inside the element `selector` matches (a dialog that keeps focus in). */
export async function focusInside(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const d = (globalThis as unknown as InPage).document;
    return d.querySelector(sel)?.contains(d.activeElement) ?? false;
  }, selector);
}
