local x = conv { name = 'l1', in_channels = 3, out_channels = 6, size = 8, kernel = 3, stride = 2, padding = 1 }
for i = 2, 4 do
  x = conv { name = 'l' .. i, in_channels = x.channels, out_channels = x.channels * 2, size = x.height, kernel = 3, padding = 'same' }
end
