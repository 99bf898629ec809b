-- expect 3: config used more than
local s = "x"
while true do s = s .. s end
