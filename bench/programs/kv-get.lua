-- wrk script for `dl-bench http`: GET /kv/key-I with I drawn at random below
-- the number of keys stored before the run (wrk's argument after `--`).
-- Unseeded, so both servers are asked for the same keys in the same order.

local keys = 1000

function init(args)
  keys = tonumber(args[1]) or keys
end

function request()
  return wrk.format("GET", "/kv/key-" .. math.random(0, keys - 1))
end
