/**
 * Which of the table's rows are on screen. Chromium says when a content-visibility:auto row starts
 * or stops being skipped (the browser's own bookkeeping, no observer to compute); elsewhere an
 * IntersectionObserver tells the same. Rows carry their key in `data-key`.
 */
export class RowVisibility {
  private readonly seen: IntersectionObserver | undefined;
  private readonly onVisibility: (e: Event) => void;

  constructor(
    private readonly tbody: HTMLTableSectionElement,
    onScreen: (key: string | undefined, visible: boolean) => void,
  ) {
    const cvEvents = 'oncontentvisibilityautostatechange' in HTMLElement.prototype;
    this.seen = cvEvents
      ? undefined
      : new IntersectionObserver(
          (entries) => {
            for (const e of entries) onScreen((e.target as HTMLElement).dataset.key, e.isIntersecting);
          },
          { rootMargin: '200px 0px' },
        );
    this.onVisibility = (e: Event) =>
      onScreen((e.target as HTMLElement).dataset.key, !(e as Event & { skipped: boolean }).skipped);
    if (cvEvents) tbody.addEventListener('contentvisibilityautostatechange', this.onVisibility, true);
  }

  /** A row just put into the table. */
  observe(el: HTMLElement): void {
    this.seen?.observe(el);
  }

  /** A row about to leave the table. */
  unobserve(el: HTMLElement): void {
    this.seen?.unobserve(el);
  }

  destroy(): void {
    this.seen?.disconnect();
    this.tbody.removeEventListener('contentvisibilityautostatechange', this.onVisibility, true);
  }
}
