-- expect 2: name
conv { name = "a b", in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
