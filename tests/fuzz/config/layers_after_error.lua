conv { in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
error('stop here', 0)
