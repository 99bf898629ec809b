for i = 1, 100000 do
  conv { in_channels = 16380, out_channels = 16380, size = 8, kernel = 7, padding = 3, max_stages = 16 }
end
