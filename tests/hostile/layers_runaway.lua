-- expect 3: too many layers
for i = 1, 1e9 do
  conv { in_channels = 8, out_channels = 8, size = 8, kernel = 1 }
end
