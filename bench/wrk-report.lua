-- wrk script used by bench/compare: after the run, prints one line
--   WRKJSON {"requests":N,"errors":E,"duration_s":D,"rps":R,"p50_ms":...,"p90_ms":...,"p99_ms":...,"max_ms":...}
-- so the script reads wrk's numbers without scraping its human-readable report.
-- Headers (X-Plex-Token, Accept) come from wrk's -H flags; the token is never printed.

done = function(summary, latency, requests)
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.status + e.timeout
   local seconds = summary.duration / 1e6
   local ok = summary.requests - errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"errors":%d,"non2xx":%d,"duration_s":%.3f,"rps":%.1f,' ..
      '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
      ok, errors, e.status, seconds, ok / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000))
end
