network { name = 'modes', bias = true, activation = 'relu' }
conv { name = 'c', in_channels = 4, out_channels = 8, size = 6, kernel = 3, padding = 'same', mode = 'conventional' }
conv { name = 'd', in_channels = 8, out_channels = 8, size = 6, kernel = 3, padding = 1, mode = 'depthwise' }
conv { name = 's', in_channels = 8, out_channels = 4, size = 6, kernel = {5, 3}, padding = 'same', mode = 'spatial' }
conv { name = 'o', in_channels = 16, out_channels = 16, size = 5, kernel = 3, mode = 'optimal' }
