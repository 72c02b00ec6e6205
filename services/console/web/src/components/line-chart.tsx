/**
 * A small SVG line chart (one line per region over time), with its figures as a table for screen
 * readers and keyboard users: no chart library needed for a few lines.
 */
import { useId } from "react";
import type { Series } from "../lib/region-history.ts";

const COLORS = ["#1f5fbf", "#b3261e", "#1b7a3a", "#8a4b00", "#6b2fa3", "#00707a", "#4d4d4d"];
const W = 640;
const H = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** Props of {@link LineChart}. */
export interface LineChartProps {
  title: string;
  series: Series[];
  format: (v: number) => string;
}

/** See the module comment. */
export function LineChart({ title, series, format }: LineChartProps) {
  const titleId = useId();
  const times = series.flatMap((s) => s.points.map((p) => p.at));
  const values = series.flatMap((s) => s.points.flatMap((p) => (p.value === undefined ? [] : [p.value])));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const vMin = values.length === 0 ? 0 : Math.min(0, ...values);
  const vMax = niceMax(values.length === 0 ? 1 : Math.max(...values));
  const x = (t: number) => PAD.left + (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right));
  const y = (v: number) => H - PAD.bottom - ((v - vMin) / (vMax - vMin || 1)) * (H - PAD.top - PAD.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => vMin + f * (vMax - vMin));
  const pathOf = (s: Series) => {
    let d = "";
    let pen = false;
    for (const p of s.points) {
      if (p.value === undefined) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  return (
    <figure className="chart">
      <figcaption id={titleId}>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId} preserveAspectRatio="none">
        <title>{title}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" className="tick">
              {format(t)}
            </text>
          </g>
        ))}
        {times.length > 0 && (
          <text x={W - PAD.right} y={H - 8} textAnchor="end" className="tick">
            last {Math.round((t1 - t0) / 1000)} s
          </text>
        )}
        {series.map((s, i) => (
          <path
            key={s.region}
            d={pathOf(s)}
            fill="none"
            stroke={COLORS[i % COLORS.length]}
            strokeWidth={2}
            data-region={s.region}
          />
        ))}
      </svg>
      <ul className="legend">
        {series.map((s, i) => {
          const last = [...s.points].reverse().find((p) => p.value !== undefined)?.value;
          return (
            <li key={s.region}>
              <span className="swatch" style={{ background: COLORS[i % COLORS.length] }} aria-hidden="true" />
              {s.region}: <span data-testid={`latest-${s.region}`}>{last === undefined ? "—" : format(last)}</span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}
