local s, t = string.rep("x", 8 * 2^20), {}
for i = 1, 20000 do t[i] = s end
table.sort(t)
