-- wrk script: POST the body in $BENCH_BODY (a file) with the bearer token in
-- $BENCH_TOKEN (optional); at the end print one JSON line with the figures
-- bench.py reads (latency in microseconds; err_status counts answers >= 400).
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and #token > 0 then
   wrk.headers["Authorization"] = "Bearer " .. token
end

-- $BENCH_THINK_MS: each connection waits this long between an answer and
-- its next request (not counted in latency), so that a run measures the
-- latency at a load both targets sustain instead of at saturation.
local think = tonumber(os.getenv("BENCH_THINK_MS") or "0") or 0
if think > 0 then
   function delay()
      return think
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,' ..
      '"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,' ..
      '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean))
end
