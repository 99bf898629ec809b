-- expect 2: name
conv { name = string.rep("x", 100000), in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
