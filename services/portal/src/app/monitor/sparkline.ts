/**
 * The CPU of one container over its last samples, kept in a fixed ring and drawn as one SVG
 * polyline: a light element (no canvas, so no compositing layer per row), only its `points`
 * rewritten, only while the row is on screen.
 */
export const SPARK_POINTS = 40;
const W = 72;
const H = 18;
const SVG = 'http://www.w3.org/2000/svg';

export class Ring {
  readonly values = new Float32Array(SPARK_POINTS);
  length = 0;
  private head = 0;

  push(v: number): void {
    this.values[this.head] = v;
    this.head = (this.head + 1) % SPARK_POINTS;
    if (this.length < SPARK_POINTS) this.length++;
  }

  /** Oldest first. */
  at(i: number): number {
    return this.values[(this.head - this.length + i + SPARK_POINTS * 2) % SPARK_POINTS]!;
  }
}

export function makeSparkline(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', String(W));
  svg.setAttribute('height', String(H));
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.append(document.createElementNS(SVG, 'polyline'));
  return svg;
}

/**
 * A line from oldest to newest. The scale is the container's CPU limit (in percent of a core) when
 * it has one, else one core, or the highest value when that is more: a container near its limit
 * draws near the top.
 */
export function drawSparkline(svg: SVGSVGElement, ring: Ring, stopped: boolean, limitPercent?: number): void {
  const line = svg.firstChild as SVGPolylineElement;
  let top = limitPercent && limitPercent > 0 ? limitPercent : 100;
  for (let i = 0; i < ring.length; i++) top = Math.max(top, ring.at(i));
  const dx = W / (SPARK_POINTS - 1);
  const x0 = (SPARK_POINTS - ring.length) * dx;
  let points = '';
  for (let i = 0; i < ring.length; i++) {
    const y = H - 1 - (ring.at(i) / top) * (H - 2);
    points += `${(x0 + i * dx).toFixed(1)},${y.toFixed(1)} `;
  }
  line.setAttribute('points', points);
  const cls = stopped ? 'spark-line stopped' : 'spark-line';
  if (line.getAttribute('class') !== cls) line.setAttribute('class', cls);
}
