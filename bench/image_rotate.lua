-- wrk script of bench/image_peers.sh: requests the paths listed in a file (one a line, given
-- after --), in turn, so that every image of the corpus is asked for equally often.
--   wrk -s bench/image_rotate.lua http://127.0.0.1:PORT -- PATHS_FILE
local paths = {}
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("no paths in " .. tostring(args[1])) end
end

function request()
  next_index = next_index % #paths + 1
  return wrk.format("GET", paths[next_index])
end
