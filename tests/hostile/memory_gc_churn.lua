-- Garbage is collected; the loop ends on the instruction limit instead.
-- expect 3: config ran for more than
while true do local t = {string.rep("x", 1000)} end
