local t = setmetatable({}, {__len = function() return 2^50 end})
table.concat(t, '', 1, #t)
