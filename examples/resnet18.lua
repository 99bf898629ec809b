-- resnet18.lua -- every convolution of ResNet-18 (He et al. 2016,
-- torchvision layout) at 224x224: the 7x7 stem, 8 basic blocks of two 3x3
-- convolutions, and the 1x1 stride-2 projections where a stage halves the
-- size: 1 + 16 + 3 = 20 layers. Batch norm is folded into the convolutions
-- (hence bias); the ReLU after the second conv of a block comes after the
-- residual add, so that conv has none.

network { name = "resnet18", batch = 1, mode = "optimal", max_stages = 2, bias = true }

conv { name = "conv1", in_channels = 3, out_channels = 64, size = 224,
       kernel = 7, stride = 2, padding = 3, activation = "relu" }
-- a 3x3 stride-2 max pool follows: 112 -> 56

local function basic_block(name, c_in, c_out, size, stride)
  conv { name = name .. "_conv1", in_channels = c_in, out_channels = c_out, size = size,
         kernel = 3, stride = stride, padding = 1, activation = "relu" }
  conv { name = name .. "_conv2", in_channels = c_out, out_channels = c_out,
         size = size // stride, kernel = 3, padding = 1 }
  if stride ~= 1 or c_in ~= c_out then
    conv { name = name .. "_downsample", in_channels = c_in, out_channels = c_out,
           size = size, kernel = 1, stride = stride }
  end
end

local c, size = 64, 56
for stage, width in ipairs { 64, 128, 256, 512 } do
  for block = 1, 2 do
    local stride = (stage > 1 and block == 1) and 2 or 1
    basic_block(("layer%d_%d"):format(stage, block - 1), c, width, size, stride)
    c, size = width, size // stride
  end
end
