-- expect 2: batch is out of range
network { name = "n", batch = 2^31 }
conv { in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
