-- Every count fits an int, but the tensors are past 2^31 - 1 floats.
-- expect 3: 2^31
conv { in_channels = 16384, out_channels = 16384, size = 65536, kernel = 1, mode = "conventional" }
