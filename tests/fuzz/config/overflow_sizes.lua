conv { in_channels = 65536, out_channels = 65536, size = 65535, kernel = 1, padding = 2147483647 }
