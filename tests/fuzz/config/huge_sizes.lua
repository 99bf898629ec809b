conv { in_channels = 2^31, out_channels = 2^31, size = 2^31, kernel = 2^31 }
