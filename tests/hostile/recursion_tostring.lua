-- expect 2: C stack overflow
local mt = {} mt.__tostring = function(x) return tostring(x) end
local s = tostring(setmetatable({}, mt))
