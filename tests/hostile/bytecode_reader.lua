-- Bytecode through a reader function, one byte at a time.
-- expect 5: attempt to load a binary chunk
local code, i = string.dump(function() return 1 end), 0
local function piece() i = i + 1; return code:sub(i, i) end
local f = assert(load(piece, "x", "bt"))
