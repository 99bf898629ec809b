network { name = 'fixed' }
conv { name = 'two', in_channels = 16, out_channels = 16, size = 7, kernel = 3, padding = 1,
       stages = { {kernel = {3, 1}, groups = 4}, {kernel = {1, 3}, groups = 4} } }
conv { name = 'three', in_channels = 8, out_channels = 12, size = 5, kernel = 3,
       stages = { {kernel = 1, groups = 2, out_channels = 16}, {kernel = 3, groups = 16}, {kernel = 1, groups = 4} } }
