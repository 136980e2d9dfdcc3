import { useEffect, useRef, useState } from 'preact/hooks';
import { containerHistory } from '../api/endpoints';
import type { ContainerHistory } from '../api/types';
import { Chart, timeAxis } from '../charts/chart-setup';
import { bytes, clock, day, percent } from '../format';
import { ChoiceGroup } from '../ui/fields';
import { useLoad } from '../ui/hooks';
import { ProblemBox } from '../ui/problem-box';
import { Loading } from '../ui/bits';

const RANGES = [
  { value: '1h', label: '1 hour', ms: 3600_000 },
  { value: '24h', label: '24 hours', ms: 24 * 3600_000 },
  { value: '7d', label: '7 days', ms: 7 * 24 * 3600_000 },
] as const;

const TIER_TEXT = { raw: 'raw samples', minute: 'per-minute figures', hour: 'hourly figures' } as const;

/** One container's CPU and memory over 1 h, 24 h or 7 days, with its limits and figures as a share of them. */
export function HistoryPanel({ containerId, name }: { containerId: string; name: string }) {
  const [range, setRange] = useState<(typeof RANGES)[number]['value']>('1h');
  const span = RANGES.find((r) => r.value === range)!.ms;
  const history = useLoad(
    () => {
      const to = Date.now();
      return containerHistory(containerId, new Date(to - span).toISOString(), new Date(to).toISOString());
    },
    [containerId, range],
    range === '1h' ? 15_000 : 60_000,
  );
  const h = history.data;
  return (
    <section class="history" aria-labelledby={`history-${containerId}`}>
      <h2 id={`history-${containerId}`}>History of {name}</h2>
      <ChoiceGroup
        name={`history-range-${containerId}`}
        legend="Range"
        type="radio"
        options={RANGES.map((r) => ({ value: r.value, label: r.label }))}
        selected={[range]}
        onToggle={(v, on) => on && setRange(v as typeof range)}
      />
      <ProblemBox problem={history.problem} />
      {history.loading && !h ? <Loading what="the history" /> : null}
      {h ? (
        <>
          <p class="muted small-text" data-testid="history-summary">
            {h.points.length} points, {TIER_TEXT[h.tier]} every {stepText(h.stepSeconds)}
            {h.cpuLimitMillis ? ` · CPU limit ${(h.cpuLimitMillis / 10).toFixed(0)} % of a core` : ''}
            {h.memoryLimitBytes ? ` · memory limit ${bytes(h.memoryLimitBytes)}` : ''}
          </p>
          {h.points.length === 0 ? (
            <p class="empty">No samples of {name} in this range.</p>
          ) : (
            <HistoryCharts h={h} span={span} />
          )}
        </>
      ) : null}
    </section>
  );
}

function stepText(s: number): string {
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

function summary(values: (number | null | undefined)[]): { avg: number | null; max: number | null } {
  const v = values.filter((x): x is number => typeof x === 'number');
  if (v.length === 0) return { avg: null, max: null };
  return { avg: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) };
}

function HistoryCharts({ h, span }: { h: ContainerHistory; span: number }) {
  const cpuRef = useRef<HTMLCanvasElement>(null);
  const memRef = useRef<HTMLCanvasElement>(null);
  const charts = useRef<Chart[]>([]);
  const fmt = span > 36 * 3600_000 ? (t: number) => `${day(t)} ${clock(t)}` : (t: number) => clock(t);
  useEffect(() => {
    const xs = h.points.map((p) => new Date(p.t).getTime());
    const min = Date.now() - span;
    const max = Date.now();
    const line = (label: string, ys: (number | null | undefined)[], color: string, dashed = false) => ({
      label,
      data: xs.map((x, i) => ({ x, y: ys[i] ?? null })),
      borderColor: color,
      backgroundColor: color,
      borderWidth: dashed ? 1 : 2,
      borderDash: dashed ? [4, 3] : [],
      pointRadius: 0,
      spanGaps: false,
    });
    const limitLine = (label: string, y: number) => ({
      label,
      data: [
        { x: min, y },
        { x: max, y },
      ],
      borderColor: '#a4243b',
      borderWidth: 1,
      borderDash: [6, 4],
      pointRadius: 0,
    });
    const cpuSets = [
      line(
        'CPU % (average)',
        h.points.map((p) => p.cpuPercent),
        '#1f5fa8',
      ),
      line(
        'CPU % (peak)',
        h.points.map((p) => p.cpuPercentMax),
        '#1f5fa8',
        true,
      ),
      ...(h.cpuLimitMillis ? [limitLine('CPU limit', h.cpuLimitMillis / 10)] : []),
    ];
    const memSets = [
      line(
        'Memory (average)',
        h.points.map((p) => p.memoryBytes),
        '#2c7a3f',
      ),
      line(
        'Memory (peak)',
        h.points.map((p) => p.memoryBytesMax),
        '#2c7a3f',
        true,
      ),
      ...(h.memoryLimitBytes ? [limitLine('Memory limit', h.memoryLimitBytes)] : []),
    ];
    const common = (yFormat: (v: number) => string) => ({
      responsive: true,
      maintainAspectRatio: false,
      parsing: false as const,
      normalized: true,
      interaction: { mode: 'nearest' as const, intersect: false },
      scales: {
        x: timeAxis(fmt, min, max),
        y: { beginAtZero: true, ticks: { callback: (v: string | number) => yFormat(Number(v)) } },
      },
      plugins: { legend: { position: 'bottom' as const } },
    });
    charts.current.forEach((c) => c.destroy());
    charts.current = [
      new Chart(cpuRef.current!, {
        type: 'line',
        data: { datasets: cpuSets },
        options: common((v) => `${v} %`),
      }),
      new Chart(memRef.current!, {
        type: 'line',
        data: { datasets: memSets },
        options: common((v) => bytes(v, 0)),
      }),
    ];
    return () => charts.current.forEach((c) => c.destroy());
  }, [h]);

  const cpu = summary(h.points.map((p) => p.cpuPercent));
  const cpuPeak = summary(h.points.map((p) => p.cpuPercentMax));
  const mem = summary(h.points.map((p) => p.memoryBytes));
  const memPeak = summary(h.points.map((p) => p.memoryBytesMax));
  const cpuShare = (v: number | null) =>
    v !== null && h.cpuLimitMillis ? percent((v * 1000) / h.cpuLimitMillis) : '–';
  const memShare = (v: number | null) =>
    v !== null && h.memoryLimitBytes ? percent((v / h.memoryLimitBytes) * 100) : '–';
  return (
    <>
      <table class="data compact stack">
        <caption class="visually-hidden">Summary of the range</caption>
        <thead>
          <tr>
            <th scope="col">Figure</th>
            <th scope="col">Average</th>
            <th scope="col">Peak</th>
            <th scope="col">Average of its limit</th>
            <th scope="col">Peak of its limit</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">CPU</th>
            <td data-label="Average">{percent(cpu.avg)}</td>
            <td data-label="Peak">{percent(cpuPeak.max ?? cpu.max)}</td>
            <td data-label="Average of its limit">{cpuShare(cpu.avg)}</td>
            <td data-label="Peak of its limit">{cpuShare(cpuPeak.max ?? cpu.max)}</td>
          </tr>
          <tr>
            <th scope="row">Memory</th>
            <td data-label="Average">{bytes(mem.avg)}</td>
            <td data-label="Peak">{bytes(memPeak.max ?? mem.max)}</td>
            <td data-label="Average of its limit">{memShare(mem.avg)}</td>
            <td data-label="Peak of its limit">{memShare(memPeak.max ?? mem.max)}</td>
          </tr>
        </tbody>
      </table>
      <div class="chart-pair">
        <figure class="chart-box">
          <figcaption>CPU (100 % = one core)</figcaption>
          <div class="chart-canvas">
            <canvas
              ref={cpuRef}
              role="img"
              aria-label={`CPU of ${h.name}: average ${percent(cpu.avg)}, peak ${percent(cpuPeak.max ?? cpu.max)}`}
            />
          </div>
        </figure>
        <figure class="chart-box">
          <figcaption>Memory</figcaption>
          <div class="chart-canvas">
            <canvas
              ref={memRef}
              role="img"
              aria-label={`Memory of ${h.name}: average ${bytes(mem.avg)}, peak ${bytes(memPeak.max ?? mem.max)}`}
            />
          </div>
        </figure>
      </div>
    </>
  );
}
