-- issue 7 item 4: 100000 copies of a layer whose search takes 30 ms (50 minutes).
-- They plan once; the code they would generate is far over the output budget.
-- expect 5: the generated code grows past
for i = 1, 100000 do
  conv { in_channels = 8192, out_channels = 8192, size = 8, kernel = 7, padding = 3, max_stages = 16 }
end
