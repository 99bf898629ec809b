-- The same text through a reader function, in one piece.
-- expect 5: config ran for more than
local src, done = "local a = 1 return a" .. string.rep(" or a", 400000), false
local function reader() if done then return nil end done = true return src end
local f = load(reader)
