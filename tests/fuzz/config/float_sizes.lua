conv { in_channels = 8.5, out_channels = 0/0, size = math.huge, kernel = 3 }
