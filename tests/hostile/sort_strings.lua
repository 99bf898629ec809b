-- issue 7 item 2: strcoll on long strings inside one table.sort call.
-- expect 5: config ran for more than
local s, t = string.rep("x", 8 * 2^20), {}
for i = 1, 20000 do t[i] = s end
table.sort(t)
