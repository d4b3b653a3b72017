-- wrk script: signed-in lesson views spread over many learners and lessons.
-- LESSON_VIEWS names a file of lines "<Cookie header value><TAB><path>"; each thread walks
-- the list from its own starting point. Prints the same RESULT line as p95.lua.
local views = {}
local position = 0
local threads = 0

setup = function(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

init = function(args)
  for line in io.lines(os.getenv("LESSON_VIEWS")) do
    local cookie, path = line:match("^(.-)\t(.*)$")
    if cookie then
      views[#views + 1] = { cookie, path }
    end
  end
  position = (offset or 0) % #views
end

request = function()
  position = position % #views + 1
  local view = views[position]
  return wrk.format("GET", view[2], { ["Cookie"] = view[1] })
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT rps=%.0f p50=%.2f p95=%.2f p99=%.2f errors=%d non2xx=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
