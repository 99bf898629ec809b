-- A table whose border is 2^50 with 52 elements: charged before the loop.
local parts = {'return {1, 2, 3, 4, [5] = 1'}
for k = 3, 50 do parts[#parts + 1] = string.format('[%d] = 1', 1 << k) end
local t = load(table.concat(parts, ', ') .. '}')()
-- expect 6: table.concat would take
local s = table.concat(t)
