-- A __gc added after setmetatable never runs (only setmetatable marks).
local mt = {}
local x = setmetatable({}, mt)
mt.__gc = function() while true do end end
x = nil
collectgarbage()
-- expect 8: still here
error("still here")
