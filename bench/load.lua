-- wrk script for bench/load.py. Configured through environment variables (wrk's Lua has os.getenv):
--
--   LOAD_MODE      "get" (rotate over LOAD_PATHS) or "batch" (POST cost-line batches)
--   LOAD_COOKIE    Cookie header for the logged-in session (get mode)
--   LOAD_PATHS     space-separated paths, requested round-robin per thread (get mode)
--   LOAD_TOKEN     API bearer token (batch mode)
--   LOAD_BASES     space-separated invoice basis ids to post to, round-robin (batch mode)
--   LOAD_LINES     lines per batch request (batch mode, default 1000)
--   LOAD_RUN       unique run tag, part of every line_reference so each line is new
--
-- done() prints one line "WRK_JSON {...}" that bench/load.py parses: requests, duration, status
-- counts (2xx / other), socket errors and latency percentiles in milliseconds.

local mode = os.getenv("LOAD_MODE") or "get"
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function split(s)
  local out = {}
  for item in string.gmatch(s or "", "%S+") do table.insert(out, item) end
  return out
end

local paths, bases, body_lines, run, token
local n = 0
-- globals: done() reads them per thread with thread:get()
ok, bad, seen_status = 0, 0, ""

function init(args)
  tid = tid or 0
  paths = split(os.getenv("LOAD_PATHS") or "/")
  bases = split(os.getenv("LOAD_BASES") or "")
  body_lines = tonumber(os.getenv("LOAD_LINES") or "1000")
  run = os.getenv("LOAD_RUN") or "run"
  token = os.getenv("LOAD_TOKEN") or ""
  local cookie = os.getenv("LOAD_COOKIE")
  if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
  wrk.headers["Accept-Language"] = "nb"
  n = tid - 1  -- threads start at different positions of the rotation
end

local categories = {
  {"connection_contribution", "Materiell (kabel, kabelskap, sikringer)", "1", "stk", "18450.00"},
  {"connection_contribution", "Eget arbeid, montør", "12.5", "t", "845.00"},
  {"connection_contribution", "Gravemaskin", "4", "t", "1150.00"},
  {"connection_contribution", "Entreprenør, graving og legging", "1", "stk", "23780.40"},
  {"meter_work", "Bytte av måler", "1", "stk", "2400.00"},
}

local function batch_body(req_no)
  local parts = {}
  for i = 1, body_lines do
    local c = categories[(i % #categories) + 1]
    parts[i] = string.format(
      '{"source":"work_order","source_reference":"AO-%s-%d-%d","line_reference":"LOAD-%s-%d-%d-%d",' ..
      '"category":"%s","description":"%s","quantity":"%s","unit":"%s","unit_price":"%s"}',
      run, tid, req_no, run, tid, req_no, i, c[1], c[2], c[3], c[4], c[5])
  end
  return '{"lines":[' .. table.concat(parts, ",") .. ']}'
end

function request()
  n = n + 1
  if mode == "batch" then
    local basis = bases[(n % #bases) + 1]
    local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
    return wrk.format("POST", "/api/v1/invoice-bases/" .. basis .. "/cost-lines/batch", headers, batch_body(n))
  end
  return wrk.format("GET", paths[(n % #paths) + 1])
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    if seen_status == "" then seen_status = tostring(status) end
  end
end

function done(summary, latency, requests)
  local ok_total, bad_total, first_bad = 0, 0, ""
  for _, t in ipairs(threads) do
    ok_total = ok_total + (t:get("ok") or 0)
    bad_total = bad_total + (t:get("bad") or 0)
    local s = t:get("seen_status")
    if first_bad == "" and s and s ~= "" then first_bad = s end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"ok":%d,"non_2xx":%d,"first_bad_status":"%s",' ..
    '"socket_errors":%d,"timeouts":%d,"p50_ms":%.1f,"p95_ms":%.1f,"p99_ms":%.1f,"max_ms":%.1f}\n',
    summary.requests, summary.duration, ok_total, bad_total, first_bad,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
