-- issue 7 item 1: O(n*m) inside one C call before; now linear and charged.
-- 3 MB against a 10 KB needle: 3e10 compares the old way, and over the
-- lowered 2M-instruction budget by find_cost, while the strings themselves
-- cost little (12 MB of them ran past the 200 ms cap under ASan first).
-- expect 7: string.find would take
local hay, needle = string.rep("a", 3e6), string.rep("a", 1e4) .. "b"
local r = string.find(hay, needle, 1, true)
