-- Recursion through C (an __index function): the C stack limit.
-- expect 3: C stack overflow
local t = setmetatable({}, {__index = function(t, k) return t[k .. "x"] end})
local v = t.x
