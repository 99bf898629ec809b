-- resnet50.lua -- every convolution of ResNet-50 (He et al. 2016, torchvision
-- "v1.5" layout: the stride sits on the 3x3 of a bottleneck) at 224x224:
-- the 7x7 stem, 16 bottlenecks (1x1 reduce, 3x3, 1x1 expand by 4) in stages
-- of 3, 4, 6, 3 blocks, and a 1x1 projection on the first block of each
-- stage: 1 + 48 + 4 = 53 layers. Batch norm is folded in (bias); the third
-- conv of a block is followed by the residual add, so it has no ReLU.

network { name = "resnet50", batch = 1, max_stages = 2, bias = true }

conv { name = "conv1", in_channels = 3, out_channels = 64, size = 224,
       kernel = 7, stride = 2, padding = 3, activation = "relu" }
-- a 3x3 stride-2 max pool follows: 112 -> 56

local function bottleneck(name, c_in, width, size, stride)
  local c_out = 4 * width
  conv { name = name .. "_conv1", in_channels = c_in, out_channels = width, size = size,
         kernel = 1, activation = "relu" }
  conv { name = name .. "_conv2", in_channels = width, out_channels = width, size = size,
         kernel = 3, stride = stride, padding = 1, activation = "relu" }
  conv { name = name .. "_conv3", in_channels = width, out_channels = c_out,
         size = size // stride, kernel = 1 }
  if stride ~= 1 or c_in ~= c_out then
    conv { name = name .. "_downsample", in_channels = c_in, out_channels = c_out,
           size = size, kernel = 1, stride = stride }
  end
  return c_out, size // stride
end

local c, size = 64, 56
for stage, spec in ipairs { {64, 3}, {128, 4}, {256, 6}, {512, 3} } do
  local width, blocks = spec[1], spec[2]
  for block = 1, blocks do
    local stride = (stage > 1 and block == 1) and 2 or 1
    c, size = bottleneck(("layer%d_%d"):format(stage, block - 1), c, width, size, stride)
  end
end
