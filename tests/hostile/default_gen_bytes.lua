-- issue 7 item 5: 2000 legal layers would write 310 MB (distinct: copies of
-- one layer would share its code).
-- expect 5: the generated code grows past
for i = 1, 2000 do
  conv { in_channels = 1, out_channels = i, size = 63, kernel = 63, padding = 31, mode = "conventional" }
end
