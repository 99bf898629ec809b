-- A __close handler is Lua code: it runs under the instruction hook.
-- expect 3: config ran for more than
do local x <close> = setmetatable({}, {__close = function() while true do end end}) end
