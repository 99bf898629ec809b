do
  local x <close> = setmetatable({}, {__close = function() while true do end end})
end
conv { in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
