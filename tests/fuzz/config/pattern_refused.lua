local x = string.rep('a', 30):find(string.rep('a*', 30) .. 'b')
