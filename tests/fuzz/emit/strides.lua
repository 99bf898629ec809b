network { name = 'st' }
conv { name = 's2', in_channels = 4, out_channels = 4, size = 9, kernel = 3, stride = 2, padding = 'same', mode = 'conventional' }
conv { name = 's3', in_channels = 2, out_channels = 2, height = 11, width = 7, kernel = {5, 1}, stride = {3, 1}, padding = {2, 0} }
conv { name = 'bigpad', in_channels = 1, out_channels = 1, size = 2, kernel = 3, padding = 4, mode = 'conventional' }
conv { name = 'whole', in_channels = 3, out_channels = 5, size = 4, kernel = 4, mode = 'conventional' }
