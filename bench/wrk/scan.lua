-- POST /api/v1/scans: card scans by a coordinator's token, each with a new event id, round-robin over the
-- volunteers signed up for the activity (thread k takes every T-th volunteer, so no two threads scan one person).
-- Direction "auto": a volunteer's first scan checks in, the next checks out, and so on.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local numbers, count, prefix, activity, stride

function init(args)
  numbers = {}
  for _, line in ipairs(lines(os.getenv("BENCH_VOLUNTEERS"))) do
    numbers[#numbers + 1] = line:match("^(%S+)")
  end
  stride = tonumber(os.getenv("BENCH_THREADS"))
  prefix = os.getenv("BENCH_PREFIX") .. "-" .. thread_id .. "-"
  activity = os.getenv("BENCH_ACTIVITY")
  count = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function request()
  local index = (count * stride + thread_id) % #numbers + 1
  count = count + 1
  local body = string.format('{"event_id": "%s%d", "activity": "%s", "volunteer_number": "%s", "direction": "auto"}',
                             prefix, count, activity, numbers[index])
  return wrk.format(nil, "/api/v1/scans", nil, body)
end
