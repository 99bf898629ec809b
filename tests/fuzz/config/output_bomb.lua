for i = 1, 2000 do
  conv { in_channels = 8, out_channels = 8, size = 63, kernel = 63, mode = 'conventional' }
end
