-- issue 7 item 3: load() of text the compiler takes quadratic time on.
-- expect 4: config ran for more than
local src = "local a = 1 return a" .. string.rep(" or a", 400000)
local f = load(src)
