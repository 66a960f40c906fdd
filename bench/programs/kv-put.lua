-- wrk script for `dl-bench http`: PUT /kv/put-RUN-T-N with body
-- "put-RUN-T-N " followed by 64 x's, where RUN is wrk's argument after `--`
-- (so the warm-up and the timed run write different keys), T the wrk thread
-- (1, 2, …) and N counts that thread's requests: every request writes a new key.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local run = "run"
local n = 0

function init(args)
  run = args[1] or run
end

function request()
  n = n + 1
  local key = "put-" .. run .. "-" .. id .. "-" .. n
  return wrk.format("PUT", "/kv/" .. key, nil, key .. " " .. string.rep("x", 64))
end
