-- issue 7 item 5: 2000 copies of one legal layer would write 314 MB.
-- expect 4: the generated code grows past
for i = 1, 2000 do
  conv { in_channels = 1, out_channels = 1, size = 63, kernel = 63, padding = 31, mode = "conventional" }
end
