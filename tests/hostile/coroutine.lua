-- expect 2: attempt to index a nil value (global 'coroutine')
local co = coroutine.wrap(function() while true do end end)
