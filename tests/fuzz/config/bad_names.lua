network { name = 'int' }
conv { name = 'size_t', in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
conv { name = '9lives', in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
conv { name = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
