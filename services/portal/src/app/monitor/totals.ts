import type { NodeHistory, SamplesEvent } from '../api/types';
import { Chart, PALETTE, timeAxis } from '../charts/chart-setup';
import { bytes, clockSeconds } from '../format';

interface Point {
  x: number;
  y: number;
}

/** How far back the live charts reach. */
export const WINDOW_MS = 10 * 60_000;
const ALL = 'All nodes';

export interface NodeTotal {
  t: number;
  cpuPercent: number;
  memoryBytes: number;
  containers: number;
  intervalMs: number;
}

/**
 * Total CPU and memory of the visible containers, per node and across nodes, from the live
 * stream: each node's `samples` event adds that node's point, and a point of the sum over the
 * nodes' newest totals. The charts are made once and updated in place, without animation, at
 * most once per animation frame.
 */
export class TotalsCharts {
  private readonly cpu: Chart<'line', Point[]>;
  private readonly memory: Chart<'line', Point[]>;
  private readonly latest = new Map<string, NodeTotal>();
  private frame = 0;
  private readonly quietCheck: ReturnType<typeof setInterval>;
  updates = 0;

  constructor(
    cpuCanvas: HTMLCanvasElement,
    memoryCanvas: HTMLCanvasElement,
    private readonly onUpdate: (totals: {
      nodes: Map<string, NodeTotal>;
      cpu: number;
      memory: number;
      updates: number;
    }) => void,
  ) {
    const options = (yFormat: (v: number) => string) => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false as const,
      parsing: false as const,
      normalized: true,
      spanGaps: true,
      events: [] as never[],
      scales: {
        x: timeAxis(clockSeconds),
        y: {
          beginAtZero: true,
          ticks: { maxTicksLimit: 5, callback: (v: string | number) => yFormat(Number(v)) },
        },
      },
      plugins: {
        legend: { position: 'bottom' as const, labels: { boxWidth: 12 } },
        tooltip: { enabled: false },
      },
    });
    this.cpu = new Chart(cpuCanvas, {
      type: 'line',
      data: { datasets: [] },
      options: options((v) => `${v} %`),
    });
    // Without samples (the user's last container stopped, an agent gone) the lines still come down.
    this.quietCheck = setInterval(() => this.settleQuiet(Date.now()), 3000);
    this.memory = new Chart(memoryCanvas, {
      type: 'line',
      data: { datasets: [] },
      options: options((v) => bytes(v, 0)),
    });
  }

  destroy(): void {
    clearInterval(this.quietCheck);
    cancelAnimationFrame(this.frame);
    this.cpu.destroy();
    this.memory.destroy();
  }

  /** The last minutes from the stats service's node series, before the live points arrive. */
  prefill(histories: NodeHistory[]): void {
    const points: { t: number; node: string; cpu: number; memory: number }[] = [];
    for (const h of histories)
      for (const p of h.points) {
        const t = new Date(p.t).getTime();
        points.push({ t, node: h.node, cpu: p.cpuPercent, memory: p.memoryBytes });
        this.dataset(this.cpu, h.node).data.push({ x: t, y: p.cpuPercent });
        this.dataset(this.memory, h.node).data.push({ x: t, y: p.memoryBytes });
      }
    // The live points go on from each node's newest, so the sum across nodes does not dip.
    for (const h of histories) {
      const last = h.points.at(-1);
      if (!last || this.latest.has(h.node)) continue;
      this.latest.set(h.node, {
        t: new Date(last.t).getTime(),
        cpuPercent: last.cpuPercent,
        memoryBytes: last.memoryBytes,
        containers: last.containers,
        intervalMs: Math.max(3000, h.stepSeconds * 1000),
      });
    }
    // Across nodes, as the live points are: at each node's point, the sum of every node's newest.
    if (histories.length > 1) {
      const newest = new Map<string, { t: number; cpu: number; memory: number }>();
      const step = Math.max(...histories.map((h) => h.stepSeconds)) * 1000;
      for (const p of points.sort((a, b) => a.t - b.t)) {
        newest.set(p.node, p);
        let cpu = 0;
        let memory = 0;
        for (const n of newest.values())
          if (p.t - n.t <= 2 * step) {
            cpu += n.cpu;
            memory += n.memory;
          }
        this.dataset(this.cpu, ALL).data.push({ x: p.t, y: cpu });
        this.dataset(this.memory, ALL).data.push({ x: p.t, y: memory });
      }
    }
    this.schedule();
  }

  /** A node that sent nothing for two intervals (its last container stopped, its agent went) counts as 0. */
  private quiet(n: NodeTotal, t: number): boolean {
    return t - n.t > 2 * n.intervalMs + 1000;
  }

  /** Zeroes the nodes gone quiet, their lines coming down to 0; whether any did. */
  private zeroQuiet(t: number): boolean {
    let changed = false;
    for (const [node, n] of this.latest)
      if (this.quiet(n, t) && (n.cpuPercent !== 0 || n.memoryBytes !== 0)) {
        this.latest.set(node, { ...n, cpuPercent: 0, memoryBytes: 0, containers: 0 });
        this.dataset(this.cpu, node).data.push({ x: n.t + n.intervalMs, y: 0 });
        this.dataset(this.memory, node).data.push({ x: n.t + n.intervalMs, y: 0 });
        changed = true;
      }
    return changed;
  }

  /** Across nodes: the sum of every node's newest total (a quiet node's being 0). */
  private pushAll(t: number): void {
    let cpu = 0;
    let memory = 0;
    for (const n of this.latest.values()) {
      cpu += n.cpuPercent;
      memory += n.memoryBytes;
    }
    this.dataset(this.cpu, ALL).data.push({ x: t, y: cpu });
    this.dataset(this.memory, ALL).data.push({ x: t, y: memory });
  }

  private settleQuiet(t: number): void {
    if (!this.zeroQuiet(t)) return;
    this.pushAll(t);
    this.schedule();
  }

  samples(e: SamplesEvent): void {
    const t = new Date(e.t).getTime();
    let cpu = 0;
    let memory = 0;
    for (const s of e.items) {
      cpu += s.cpuPercent ?? 0;
      memory += s.memoryBytes;
    }
    this.latest.set(e.node, {
      t,
      cpuPercent: cpu,
      memoryBytes: memory,
      containers: e.items.length,
      intervalMs: e.intervalMs,
    });
    this.dataset(this.cpu, e.node).data.push({ x: t, y: cpu });
    this.dataset(this.memory, e.node).data.push({ x: t, y: memory });
    this.zeroQuiet(t);
    this.pushAll(t);
    this.schedule();
  }

  private dataset(chart: Chart<'line', Point[]>, label: string) {
    let d = chart.data.datasets.find((x) => x.label === label);
    if (!d) {
      const i = chart.data.datasets.filter((x) => x.label !== ALL).length;
      const color = label === ALL ? '#222' : PALETTE[i % PALETTE.length]!;
      d = {
        label,
        data: [],
        borderColor: color,
        backgroundColor: color,
        borderWidth: label === ALL ? 2.5 : 1.5,
        pointRadius: 0,
        ...(label === ALL ? { borderDash: [5, 3] } : {}),
      };
      chart.data.datasets.push(d);
    }
    return d;
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(this.drawCpu);
  }

  /** One chart per frame: each redraw is a few milliseconds, two in one frame would add up. */
  private drawCpu = () => {
    this.redraw(this.cpu);
    this.frame = requestAnimationFrame(this.drawMemory);
  };

  private drawMemory = () => {
    this.frame = 0;
    this.redraw(this.memory);
    this.updates++;
    let cpu = 0;
    let memory = 0;
    for (const n of this.latest.values()) {
      cpu += n.cpuPercent;
      memory += n.memoryBytes;
    }
    this.onUpdate({ nodes: this.latest, cpu, memory, updates: this.updates });
  };

  private redraw(chart: Chart<'line', Point[]>): void {
    const now = Date.now();
    let earliest = now;
    for (const d of chart.data.datasets) {
      let drop = 0;
      while (drop < d.data.length && d.data[drop]!.x < now - WINDOW_MS) drop++;
      if (drop) d.data.splice(0, drop);
      d.data.sort((a, b) => a.x - b.x);
      if (d.data.length) earliest = Math.min(earliest, d.data[0]!.x);
    }
    // The axis spans what there is (at least a minute), up to the window: a young chart is not a sliver.
    const x = chart.options.scales!.x!;
    x.min = Math.max(now - WINDOW_MS, Math.min(earliest, now - 60_000));
    x.max = now;
    chart.update('none');
  }
}
