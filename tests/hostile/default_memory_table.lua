-- expect 4: config used more than
local t = {}
for i = 1, 1e9 do
  t[i] = {i}
end
