-- pcall cannot swallow the limit.
-- expect 3: config ran for more than
while true do pcall(function() while true do end end) end
