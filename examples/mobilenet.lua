-- mobilenet.lua -- the convolutions of MobileNet v1 (Howard et al. 2017,
-- table 1) at 224x224, width multiplier 1: a 3x3 stride-2 stem, then 13
-- pairs of a 3x3 depthwise layer and a 1x1 pointwise layer: 27 layers.
-- The depthwise layers are declared as they are, grouped convolutions with
-- groups = channels, generated in mode "conventional"; the pointwise layers
-- get the optimal chain. The paper's table marks the last depthwise layer
-- stride 2 on a 7x7 input; like the reference implementations we use
-- stride 1 there. Batch norm is folded in (bias); every layer has a ReLU.

network { name = "mobilenet_v1", batch = 1, bias = true, activation = "relu" }

-- the output shape conv{} returns is the next layer's input
local x = conv { name = "conv0", in_channels = 3, out_channels = 32, size = 224,
                 kernel = 3, stride = 2, padding = 1 }

local function dw_pw(i, c_out, stride)
  local dw = conv { name = ("dw%d"):format(i), in_channels = x.channels,
                    out_channels = x.channels, groups = x.channels,
                    height = x.height, width = x.width, kernel = 3, stride = stride,
                    padding = 1 }   -- grouped: mode "conventional" by default
  x = conv { name = ("pw%d"):format(i), in_channels = dw.channels, out_channels = c_out,
             height = dw.height, width = dw.width, kernel = 1 }
end

local blocks = {
  {64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
  {512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1},
  {1024, 2}, {1024, 1},
}
for i, b in ipairs(blocks) do dw_pw(i, b[1], b[2]) end
