-- issue 7 item 1: O(n*m) inside one C call before; now linear and charged.
-- expect 4: string.find would take
local hay, needle = string.rep("a", 8e6), string.rep("a", 4e6) .. "b"
local r = string.find(hay, needle, 1, true)
