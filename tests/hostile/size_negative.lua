-- expect 2: stride height must be between
conv { in_channels = 8, out_channels = 8, size = 8, kernel = 3, stride = -1 }
