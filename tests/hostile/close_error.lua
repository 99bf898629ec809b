-- __close runs again while an error unwinds; the limit still holds.
-- expect 3: config ran for more than
local x <close> = setmetatable({}, {__close = function() while true do end end})
error("unwinding")
