-- wrk script for `dl-bench pages`: GET /slug/post-I with I drawn at random
-- below the number of posts stored (wrk's argument after `--`). Unseeded,
-- so both servers are asked for the same posts in the same order.

local posts = 1000

function init(args)
  posts = tonumber(args[1]) or posts
end

function request()
  return wrk.format("GET", "/slug/post-" .. math.random(0, posts - 1))
end
