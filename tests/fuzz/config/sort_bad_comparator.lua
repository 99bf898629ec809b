local t = {}
for i = 1, 100 do t[i] = i end
table.sort(t, function(a, b) return true end)
conv { in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
