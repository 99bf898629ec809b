local s = string.rep('x', 100)
while true do s = s .. 'y' end
