-- wrk script: growing coding-agent sessions.  Each thread carries
-- $BENCH_SESSIONS_PER_THREAD sessions and sends their turns round-robin,
-- each session one turn further every time its turn comes: turn k+1 is
-- turn k's messages plus one tool call and its result (files written by
-- bench/agent_body.py --session, whose format this reads; the list in
-- $BENCH_SESSION_FILES, ':'-separated).  A session that has sent its last
-- turn starts again from its first with a new run number in place of
-- every "@@RUN@@", so that the gateway sees new text, as from a new
-- session; the system prompt and tool schemas stay the same, as they are
-- for every session of one agent product.  $BENCH_SESSION_RUN makes the
-- run numbers of one wrk run differ from every other run's.
-- At the end, one JSON line as post.lua prints, with the sessions started
-- and the turns sent.

local token = os.getenv("BENCH_TOKEN")
local per_thread = tonumber(os.getenv("BENCH_SESSIONS_PER_THREAD") or "8")
local run_base = tonumber(os.getenv("BENCH_SESSION_RUN") or "0")
local files = {}
for p in string.gmatch(os.getenv("BENCH_SESSION_FILES") or "", "[^:]+") do
   files[#files + 1] = p
end
assert(#files > 0, "BENCH_SESSION_FILES names no file")

local headers = { ["Content-Type"] = "application/json" }
if token and #token > 0 then
   headers["Authorization"] = "Bearer " .. token
end

-- thread ids, given in setup (main state) to each thread's own state
local threads = {}
local next_tid = 0
function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

local loaded = {}
local function load(path)
   if loaded[path] then
      return loaded[path]
   end
   local f = assert(io.open(path, "rb"))
   local data = f:read("*a")
   f:close()
   local lines = {}
   for line in string.gmatch(data, "([^\n]*)\n") do
      lines[#lines + 1] = line
   end
   local s = { head = lines[1], tail = lines[2], first = tonumber(lines[3]),
               msgs = {} }
   for i = 4, #lines do
      if #lines[i] > 0 then
         s.msgs[#s.msgs + 1] = lines[i]
      end
   end
   loaded[path] = s
   return s
end

-- the run number as 7 characters of base 36: the width of "@@RUN@@"
local digits = "0123456789abcdefghijklmnopqrstuvwxyz"
local function base36(n)
   local out = {}
   for i = 1, 7 do
      local d = n % 36
      out[8 - i] = digits:sub(d + 1, d + 1)
      n = math.floor(n / 36)
   end
   return table.concat(out)
end

local sessions = {}
local slot = 0
started = 0
turns = 0

local function start()
   -- the threads begin at different files and go on through the list
   local src = load(files[(tid * per_thread + started) % #files + 1])
   local run = base36(run_base + tid * 1000000 + started)
   local msgs = {}
   for j, m in ipairs(src.msgs) do
      msgs[j] = string.gsub(m, "@@RUN@@", run)
   end
   started = started + 1
   return { head = src.head, tail = src.tail, msgs = msgs, n = src.first }
end

function request()
   slot = slot % per_thread + 1
   local s = sessions[slot]
   if s == nil or s.n > #s.msgs then
      s = start()
      sessions[slot] = s
   end
   local body = s.head .. table.concat(s.msgs, ",", 1, s.n) .. s.tail
   s.n = s.n + 2
   turns = turns + 1
   return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   local nstarted, nturns = 0, 0
   for _, t in ipairs(threads) do
      nstarted = nstarted + (t:get("started") or 0)
      nturns = nturns + (t:get("turns") or 0)
   end
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,' ..
      '"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,' ..
      '"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
      '"sessions":%d,"turns":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean,
      nstarted, nturns))
end
