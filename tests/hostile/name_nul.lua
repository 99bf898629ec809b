-- expect 2: name
conv { name = "a\0b", in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
