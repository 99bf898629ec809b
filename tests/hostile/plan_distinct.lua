-- Distinct layers plan one by one: the planning budget stops them.
-- expect 4: planning the config took more than
for i = 1, 5000 do
  conv { name = "l" .. i, in_channels = 16380 - i, out_channels = 16380, size = 8, kernel = 7, padding = 3, max_stages = 16 }
end
