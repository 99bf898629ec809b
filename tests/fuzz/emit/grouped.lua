network { name = 'g', batch = 2 }
conv { name = 'dw', in_channels = 8, out_channels = 8, groups = 8, size = 9, kernel = 3, padding = 1, mode = 'conventional' }
conv { name = 'mult', in_channels = 4, out_channels = 12, groups = 4, size = 5, kernel = 5, padding = 2, mode = 'conventional' }
conv { name = 'pw', in_channels = 8, out_channels = 16, groups = 2, size = 4, kernel = 1, mode = 'conventional' }
