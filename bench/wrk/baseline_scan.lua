-- POST /bench/baseline/scan: one ORM insert of a scans row (same volunteers, same activity, new event ids).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local ids, count, prefix, stride, activity_id, organization_id, recorder_id

function init(args)
  ids = {}
  for _, line in ipairs(lines(os.getenv("BENCH_VOLUNTEERS"))) do
    ids[#ids + 1] = line:match("^%S+%s+(%d+)")
  end
  stride = tonumber(os.getenv("BENCH_THREADS"))
  prefix = os.getenv("BENCH_PREFIX") .. "-" .. thread_id .. "-"
  activity_id = os.getenv("BENCH_ACTIVITY_ID")
  organization_id = os.getenv("BENCH_ORGANIZATION_ID")
  recorder_id = os.getenv("BENCH_RECORDER_ID")
  count = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local index = (count * stride + thread_id) % #ids + 1
  count = count + 1
  local body = string.format('{"event_id": "%s%d", "activity_id": %s, "organization_id": %s, "volunteer_id": %s, ' ..
                             '"recorded_by_id": %s}', prefix, count, activity_id, organization_id, ids[index],
                             recorder_id)
  return wrk.format(nil, "/bench/baseline/scan", nil, body)
end
