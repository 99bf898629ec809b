network { name = 'n' }
conv { name = 'a', in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
conv { name = 'A', in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
