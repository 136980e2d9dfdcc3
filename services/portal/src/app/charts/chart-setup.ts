import {
  Chart,
  Decimation,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';

/** Only the parts of Chart.js the portal draws (line charts on linear axes), so the bundle stays small. */
Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Legend, Tooltip, Decimation);
// Live charts redraw every few seconds: no animation, which would only cost main-thread time.
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.color = '#333';

export { Chart };
export type { ChartConfiguration };

export const PALETTE = [
  '#1f5fa8',
  '#b4491d',
  '#2c7a3f',
  '#7a3c9e',
  '#8a6d00',
  '#0f7c86',
  '#a4243b',
  '#4d5b6a',
];

/** A time axis on a linear scale (milliseconds), labelled by a formatter: no date adapter needed. */
export function timeAxis(format: (t: number) => string, min?: number, max?: number) {
  return {
    type: 'linear' as const,
    ...(min !== undefined ? { min } : {}),
    ...(max !== undefined ? { max } : {}),
    ticks: { maxTicksLimit: 6, maxRotation: 0, callback: (v: string | number) => format(Number(v)) },
    grid: { color: '#e4e4e4' },
  };
}
