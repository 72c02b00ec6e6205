/**
 * `/regions`: each region's applied revision (of this account) and staleness over time, polling
 * `GET /api/regions` every second while the page is open; a table with the latest figures.
 */
import { useEffect, useState } from "react";
import { type ApiError, getRegions } from "../api/client.ts";
import { ErrorMessage } from "../components/error-message.tsx";
import { LineChart } from "../components/line-chart.tsx";
import { TableWrap } from "../components/table-wrap.tsx";
import { formatDuration } from "../lib/format.ts";
import { addSample, type RegionSample, seriesOf } from "../lib/region-history.ts";
import { asApiError } from "../lib/use-async.ts";
import { useTitle } from "../router.tsx";

const POLL_MS = 1000;
const WINDOW_MS = 5 * 60_000;

/** Polls the regions while mounted; keeps a window of samples. */
export function useRegionHistory(): { history: RegionSample[]; error: ApiError | undefined } {
  const [history, setHistory] = useState<RegionSample[]>([]);
  const [error, setError] = useState<ApiError | undefined>();
  useEffect(() => {
    let live = true;
    let timer = 0;
    const poll = async () => {
      try {
        const s = await getRegions();
        if (!live) return;
        setHistory((h) => addSample(h, s, WINDOW_MS));
        setError(undefined);
      } catch (e) {
        if (live) setError(asApiError(e));
      }
      if (live) timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, []);
  return { history, error };
}

/** See the module comment. */
export function RegionsPage() {
  useTitle("Regions");
  const { history, error } = useRegionHistory();
  const latest = history[history.length - 1];
  return (
    <>
      <h1>Regions</h1>
      <p>
        Each region applies the account's changes from the change log; its applied revision catches up with every write,
        and its staleness is how old its oldest partition watermark is. Updated every second.
      </p>
      <ErrorMessage error={error} />
      {latest !== undefined && (
        <TableWrap label={"Regions now"}>
          <table>
            <caption>Regions now</caption>
            <thead>
              <tr>
                <th scope="col">Region</th>
                <th scope="col">Reachable</th>
                <th scope="col">Applied revision</th>
                <th scope="col">Staleness</th>
                <th scope="col">Consumer lag</th>
              </tr>
            </thead>
            <tbody>
              {latest.regions.map((r) => (
                <tr key={r.region} data-region={r.region}>
                  <th scope="row">{r.region}</th>
                  <td>
                    {r.reachable
                      ? "Yes"
                      : `No${r.error === undefined ? "" : `: ${typeof r.error === "string" ? r.error : `${r.error.code}: ${r.error.message}`}`}`}
                  </td>
                  <td data-testid={`revision-${r.region}`}>{r.appliedRevision}</td>
                  <td>{formatDuration(r.stalenessMs)}</td>
                  <td>{r.consumerLag}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {history.length > 0 && (
        <div className="charts">
          <LineChart
            title="Applied revision of this account per region"
            series={seriesOf(history, "appliedRevision")}
            format={(v) => String(Math.round(v))}
          />
          <LineChart title="Staleness per region" series={seriesOf(history, "stalenessMs")} format={formatDuration} />
        </div>
      )}
    </>
  );
}
