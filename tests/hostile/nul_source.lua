-- expect 2: unexpected symbol
local x = 
