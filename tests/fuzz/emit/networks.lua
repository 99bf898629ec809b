network { name = 'a', batch = 3 }
conv { name = 'x', in_channels = 2, out_channels = 2, size = 1, kernel = 1 }
network { name = 'b' }
conv { name = 'x', in_channels = 1, out_channels = 3, size = 2, kernel = {1, 2}, mode = 'spatial' }
