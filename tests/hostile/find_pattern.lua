-- expect 2: patterns are not available
local r = string.find(string.rep("a", 30), "(a*)*b")
