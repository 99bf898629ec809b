-- expect 2: must be a whole number
conv { in_channels = 0/0, out_channels = 8, size = 8, kernel = 3 }
