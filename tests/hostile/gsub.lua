-- expect 2: patterns are not available
local s = string.gsub(string.rep("a", 30), "(a*)*b", "")
