-- layers.lua -- the fixed layer set of `make bench` (bench/ob_main.c,
-- fixed_set) as a config, so scripts/autotune.lua can tune and recheck the
-- same layers (README, "Autotuning"). Keep the two in step.
network { name = "bench" }
local function layer(name, c_in, c_out, size, k, stride, pad)
  conv { name = name, in_channels = c_in, out_channels = c_out, size = size, kernel = k,
         stride = stride, padding = pad }
end
layer("c64_56_k3", 64, 64, 56, 3, 1, 1)
layer("c128_28_k3", 128, 128, 28, 3, 1, 1)
layer("c256_14_k3", 256, 256, 14, 3, 1, 1)
layer("c512_7_k3", 512, 512, 7, 3, 1, 1)
layer("c256_14_k5", 256, 256, 14, 5, 1, 2)
layer("c256_14_k7", 256, 256, 14, 7, 1, 3)
layer("c128to256_28_k3_s2", 128, 256, 28, 3, 2, 1)
layer("c64to128_56_k3", 64, 128, 56, 3, 1, 1)
