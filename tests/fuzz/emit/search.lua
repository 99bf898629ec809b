network { name = 'srch', objective = 'params', max_stages = 4 }
conv { name = 'w', in_channels = 24, out_channels = 48, size = 4, kernel = 5, padding = 2, widths = {12, 96} }
conv { name = 'deep', in_channels = 64, out_channels = 64, size = 3, kernel = 7, padding = 3, max_stages = 8, objective = 'macs' }
