-- cifar_resnet20.lua -- the convolutions of ResNet-20 for CIFAR-10 (He et al.
-- 2016, section 4.2) at 32x32: a 3x3 stem to 16 channels, then three stages
-- of 3 basic blocks at 16, 32, 64 channels and 32, 16, 8 pixels. The paper
-- uses parameter-free "option A" shortcuts; this file models "option B":
-- a 1x1 stride-2 projection where a stage halves the size and doubles the
-- channels, 2 of them. Layers: 1 + 18 + 2 = 21 (drop the projections for
-- option A: 19). Batch norm is folded in (bias).

network { name = "cifar_resnet20", batch = 1, bias = true }

-- each conv{} returns its output's shape; `input = x` chains from it
local x = conv { name = "conv1", in_channels = 3, out_channels = 16, size = 32,
                 kernel = 3, padding = 1, activation = "relu" }

local blocks_per_stage = 3            -- ResNet-(6n+2): n = 3 gives 20
for stage, width in ipairs { 16, 32, 64 } do
  for block = 1, blocks_per_stage do
    local stride = (stage > 1 and block == 1) and 2 or 1
    local name = ("stage%d_block%d"):format(stage, block)
    local a = conv { name = name .. "_a", input = x, out_channels = width,
                     kernel = 3, stride = stride, padding = 1, activation = "relu" }
    local b = conv { name = name .. "_b", input = a, out_channels = width,
                     kernel = 3, padding = 1 }
    if stride ~= 1 then   -- the shortcut: a branch on the block's input
      conv { name = name .. "_proj", input = x, out_channels = width,
             kernel = 1, stride = stride }
    end
    x = b
  end
end
