-- The most layers a config may have, each tiny: memory is the layers and
-- their plans (1.7 KB each), and the output budget stops the code.
-- expect 5: the generated code grows past
for i = 1, 100000 do
  conv { in_channels = 1, out_channels = 1, size = 1, kernel = 1 }
end
