-- GET each path of BENCH_PATHS in turn (each thread starting at its own), with BENCH_ACCEPT and BENCH_COOKIE
-- when set.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local paths, count

function init(args)
  paths = lines(os.getenv("BENCH_PATHS"))
  count = thread_id
  local accept, cookie = os.getenv("BENCH_ACCEPT"), os.getenv("BENCH_COOKIE")
  if accept and accept ~= "" then wrk.headers["Accept"] = accept end
  if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
end

function request()
  count = count + 1
  return wrk.format("GET", paths[(count - 1) % #paths + 1])
end
