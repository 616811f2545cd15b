import { useApp, useAsync } from '../lib/app';
import { expectAnswer, inspect } from '../lib/node';
import type { StatsAnswer } from '../lib/api';
import { gatewayStats } from '../lib/gateway';
import { formatInt, formatNumber } from '../lib/format';
import { BarChart, HBarChart } from '../components/charts';
import { Alert, Card, Loading, PageTitle } from '../components/ui';

export type { GroupStats } from '../lib/api';

interface Stats extends StatsAnswer {
  source: string;
}

export function bucketLabels(bounds: number[]): string[] {
  const k = (n: number) => `${n / 1000}`;
  return [...bounds.map((b, i) => (i === 0 ? `<${k(b)}k` : `${k(bounds[i - 1] ?? 0)}–${k(b)}k`)), `≥${k(bounds.at(-1) ?? 0)}k`];
}

function checked(a: StatsAnswer, source: string): Stats {
  if (!Array.isArray(a.models)) throw new Error('The statistics answer has no models.');
  return { ...a, source };
}

export function StatsPage() {
  const app = useApp();
  const stats = useAsync(async (): Promise<Stats> => {
    try {
      const { answer } = await inspect(await app.inspectUrl(), { type: 'stats' });
      return checked(expectAnswer(answer, 'stats'), 'the rollup node (inspect)');
    } catch (nodeError) {
      try {
        return checked(await gatewayStats(), 'the gateway (the rollup node could not be reached)');
      } catch {
        throw nodeError;
      }
    }
  }, [app.inspectUrl]);

  const s = stats.data;
  const published = s ? [...s.models.filter((m) => m.published), ...(s.fleet?.published ? [s.fleet] : [])] : [];
  const notEnough = `fewer than ${s?.k_anonymity ?? 'k'}`;

  return (
    <>
      <PageTitle sub="Computed by the rollup from attested readings only, and published per model only for groups of enough devices that no single car can be singled out.">Fleet statistics</PageTitle>
      {stats.loading && !s && <Loading label="Asking the rollup for statistics…" />}
      {stats.error && (
        <Alert title="Could not load the statistics" onRetry={stats.reload}>
          {stats.error}
        </Alert>
      )}
      {s && (
        <>
          <p className="muted small">
            Source: {s.source}. Groups need at least {s.k_anonymity} devices to be shown.
          </p>
          <Card title="Per model" id="models-heading">
            <div className="table-wrap">
              <table className="table" data-testid="stats-table">
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Devices</th>
                    <th scope="col">Readings</th>
                    <th scope="col">Distance (km)</th>
                    <th scope="col">Median km/year</th>
                    <th scope="col">Faults / 10,000 km</th>
                    <th scope="col">L / 100 km</th>
                    <th scope="col">CO₂ g/km</th>
                  </tr>
                </thead>
                <tbody>
                  {[...s.models, ...(s.fleet ? [s.fleet] : [])].map((m) => (
                    <tr key={m.model ?? 'fleet'} className={m.model === null ? 'row-total' : undefined}>
                      <th scope="row">{m.name}</th>
                      {m.published ? (
                        <>
                          <td>{formatInt(m.devices)}</td>
                          <td>{formatInt(m.readings)}</td>
                          <td>{formatInt(m.total_km)}</td>
                          <td>{formatInt(m.km_per_year_median)}</td>
                          <td>{formatNumber(m.faults_per_10000_km, 2)}</td>
                          <td>{formatNumber(m.consumption_l_per_100km, 2)}</td>
                          <td>{formatNumber(m.co2_g_per_km, 1)}</td>
                        </>
                      ) : (
                        <td colSpan={7} className="muted">
                          Not enough devices ({notEnough}) to publish figures for this group.
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
          {published.length > 0 && (
            <Card title="Comparison" id="compare-heading">
              <div className="charts-grid wide">
                <HBarChart title="Faults per 10,000 km" bars={published.map((m) => ({ label: m.name, value: m.faults_per_10000_km }))} digits={2} />
                <HBarChart title="Consumption, L/100 km" bars={published.map((m) => ({ label: m.name, value: m.consumption_l_per_100km }))} digits={2} unit="L/100 km" />
                <HBarChart title="CO₂, g/km (tank to wheel)" bars={published.map((m) => ({ label: m.name, value: m.co2_g_per_km }))} digits={1} unit="g/km" />
                <HBarChart title="Devices" bars={published.filter((m) => m.model !== null).map((m) => ({ label: m.name, value: m.devices }))} />
              </div>
            </Card>
          )}
          <h2>Distance per year</h2>
          <div className="charts-grid">
            {s.models.map((m) => (
              <Card key={m.model ?? 'fleet'} title={m.name} id={`km-${m.model}`}>
                {m.published && m.km_per_year_histogram ? (
                  <BarChart
                    title={`Devices by km per year${m.km_per_year_median != null ? ` (median ${formatInt(m.km_per_year_median)})` : ''}`}
                    bars={bucketLabels(s.km_per_year_buckets).map((label, i) => ({ label, value: m.km_per_year_histogram?.[i] ?? 0 }))}
                  />
                ) : (
                  <p className="not-enough">Not enough devices ({notEnough}) to show this model.</p>
                )}
              </Card>
            ))}
          </div>
        </>
      )}
    </>
  );
}
