-- A message handler that loops runs after the unwind, under the hook.
-- expect 3: config ran for more than
xpcall(function() while true do end end, function() while true do end end)
