local f = load(string.dump(function() return os end), 'x', 'b')
conv { in_channels = 8, out_channels = 8, size = 8, kernel = 3 }
