import { html, useEffect, useRef } from '/portal/vendor/preact-htm.js';
import uPlot from '/portal/vendor/uplot.js';
import { api } from '../api.js';
import { ErrorBox, fmtMs, go, useLoad } from '../ui.js';

const RANGES = [
  ['hour', 'Last 48 hours, by hour', 48 * 3600e3],
  ['day', 'Last 30 days, by day', 30 * 86400e3],
  ['week', 'Last 12 weeks, by week', 12 * 7 * 86400e3],
];

/** One line chart, sized to its box and redrawn when the box changes size (phones turn). */
function Chart({ title, x, y, unit, color, max }) {
  const box = useRef(null);
  useEffect(() => {
    const width = () => Math.max(260, box.current.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        scales: { x: { time: true }, y: max === undefined ? { auto: true } : { range: [0, max] } },
        axes: [{}, { label: unit, size: 60 }],
        series: [{}, { label: title, stroke: color, width: 2, spanGaps: false, points: { show: true, size: 5 } }],
        legend: { show: true },
      },
      [x, y],
      box.current,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, y]);
  return html`<figure class="chart"><figcaption>${title}</figcaption><div ref=${box} role="img" aria-label=${`${title} chart; the same figures are in the table below`}></div></figure>`;
}

export function EndpointStats({ endpoint, query }) {
  const groupBy = RANGES.some(([g]) => g === query.group_by) ? query.group_by : 'hour';
  const span = RANGES.find(([g]) => g === groupBy)[2];
  const { data, error, loading } = useLoad(() => {
    const until = new Date();
    return api('GET', `/endpoints/${endpoint.id}/stats`, undefined, { group_by: groupBy, since: new Date(until.getTime() - span).toISOString(), until: until.toISOString() });
  }, [endpoint.id, groupBy]);
  const series = data?.series || [];
  const x = series.map((b) => Date.parse(b.bucket_start) / 1000);
  const rate = series.map((b) => (b.attempts === 0 ? null : Math.round((1000 * b.succeeded_attempts) / b.attempts) / 10));
  const p95 = series.map((b) => b.p95_response_time_ms);
  const t = data?.totals;
  return html`
    <h2>Statistics</h2>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Range
        <select value=${groupBy} onChange=${(e) => go(`/endpoints/${endpoint.id}/stats`, { group_by: e.target.value })}>
          ${RANGES.map(([g, label]) => html`<option value=${g}>${label}</option>`)}
        </select>
      </label>
    </form>
    <${ErrorBox} error=${error} />
    ${loading && !data && html`<p class="loading">Loading statistics…</p>`}
    ${t && html`<ul class="counters" aria-label="Totals of the range">
      <li><span class="n">${t.attempts}</span> attempts</li>
      <li><span class="n">${t.success_rate === null ? '—' : `${t.success_rate} %`}</span> deliveries succeeded</li>
      <li><span class="n">${fmtMs(t.p95_response_time_ms)}</span> p95 latency</li>
      <li><span class="n">${fmtMs(t.avg_response_time_ms)}</span> average latency</li>
    </ul>`}
    ${data && html`<div class="charts">
      <${Chart} title="Success rate of attempts" unit="%" x=${x} y=${rate} color="#1a7f37" max=${100} />
      <${Chart} title="p95 latency" unit="ms" x=${x} y=${p95} color="#0969da" />
    </div>`}
    ${data && data.errors.length > 0 && html`<h3>Errors</h3><table class="list"><thead><tr><th scope="col">Error</th><th scope="col">Response</th><th scope="col">Count</th></tr></thead>
      <tbody>${data.errors.map((e) => html`<tr><td data-label="Error"><code>${e.error_class}</code></td><td data-label="Response">${e.response_status ?? 'none'}</td><td data-label="Count">${e.count}</td></tr>`)}</tbody></table>`}
    ${data && html`<details class="table-figures"><summary>The figures as a table</summary>
      <table class="list"><thead><tr><th scope="col">From</th><th scope="col">Attempts</th><th scope="col">Success rate</th><th scope="col">p95 latency</th></tr></thead>
      <tbody>${series.map((b, i) => html`<tr><td data-label="From">${new Date(b.bucket_start).toLocaleString()}</td><td data-label="Attempts">${b.attempts}</td><td data-label="Success rate">${rate[i] === null ? '—' : `${rate[i]} %`}</td><td data-label="p95 latency">${fmtMs(b.p95_response_time_ms)}</td></tr>`)}</tbody></table>
    </details>`}
  `;
}
