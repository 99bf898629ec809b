conv { in_channels = -8, out_channels = 8, size = -1, kernel = -3, stride = 0 }
