-- expect 2: in_channels is out of range
conv { in_channels = 2^40, out_channels = 8, size = 8, kernel = 3 }
