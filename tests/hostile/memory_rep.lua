-- expect 2: config used more than
local s = string.rep("x", 1e9)
