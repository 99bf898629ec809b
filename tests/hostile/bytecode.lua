-- expect 3: attempt to load a binary chunk (mode is 't')
local code = string.dump(function() return 1 end)
local f = assert(load(code, "x", "b"))
