local i = string.find(string.rep("a", 8e6), string.rep("a", 4e6) .. "b", 1, true)
