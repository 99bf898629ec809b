-- default.lua -- a small network that touches every part of the config
-- language; `make run` JIT-compiles and checks all of its layers.
--
-- A config is a Lua script: locals, loops and functions are all allowed.
-- Two functions declare what to generate:
--
--   network { name = ..., batch = ..., <layer fields> }
--       starts a network. name is a C identifier that prefixes the generated
--       symbols (default: the file's base name); batch is the number of
--       images per call (default 1). Any layer field given here, except
--       stages, is a default for the layers that follow. A conv{} before any
--       network{} opens a network named after the file.
--
--   conv { <layer fields> }
--       declares one convolution layer (NCHW, float32, PyTorch semantics)
--       and returns the shape of its output: { name =, channels =, height =,
--       width = }, handy for chaining layers.
--
-- Layer fields:
--   name          letters, digits, underscore; unique in its network
--                 (default "conv<N>", N = position in the network)
--   in_channels, out_channels                                  (required)
--   size          a number or {height, width}; or give height and width
--   kernel        a number or {height, width}                  (required)
--   input         the shape an earlier conv{} returned: gives in_channels,
--                 height and width (any of them also given must agree), so
--                 `x = conv { input = x, ... }` chains layers; branches are
--                 several conv{} on the same input
--   stride        a number or {height, width}                  (default 1)
--   padding       a number, {height, width}, "valid" (= 0, the default) or
--                 "same" (= (k-1)/2 per dimension, odd kernels only: the
--                 output keeps the size at stride 1, ceil(size/stride) else)
--   groups        of the layer itself (default 1); a grouped layer can only
--                 be generated in mode "conventional", which is then its
--                 default whatever the network's mode
--   bias          true or false (default false)
--   activation    "none" (default), "relu", "relu6" or {"clamp", min, max},
--                 applied after the layer and its bias; each keeps NaN, as
--                 torch.relu, relu6 and clamp do
--   residual      true or false (default false): add r, a second input of
--                 the output's shape, after the bias and before the
--                 activation: y = act(conv(x) + bias + r), a ResNet block's
--                 skip connection. The layer's entry points then take r
--                 after the input: <net>_<layer>(in, residual, out, weights,
--                 scratch); r may be out itself (in place)
--   oc_lanes      true or false (default false): let stages use lanes over
--                 output channels (AVX-512, AVX2) where that costs less; a layer
--                 whose code does takes its weights packed by
--                 <net>_<layer>_pack (the header says so: _PACKED 1)
--   mode          how to generate it:
--                   "conventional"  the layer as it is: one KxK convolution
--                   "depthwise"     depthwise KxK, then pointwise 1x1
--                   "spatial"       K_h x 1, then 1 x K_w
--                   "optimal"       (default) the cheapest valid chain of
--                                   grouped convolutions and channel shuffles
--                                   with at most max_stages stages
--                   "fixed"         the chain written in `stages`
--   max_stages    1..16 (default 2), for "optimal" (a conv{} in another mode
--                 that sets it is refused; a network default is just unused)
--   objective     "macs" (default), "params" or "time" (the run time modelled
--                 for this machine's ISA): what "optimal" minimizes
--   widths        extra internal widths the search may use, e.g. {32, 128}
--   code          the SIMD stages' code variant: "auto" (default), "4x6" (tiles
--                 of at most 4 output channels by 6 vectors), "u240" (fan-in
--                 bodies of at most 240 instructions), "4x6/u240" (README
--                 "Autotuning"); it changes how the code is blocked, not the plan
--   stages        the chain for "fixed": a list of
--                   { kernel = (default 1), groups = (default 1),
--                     out_channels = (default: in_channels; the layer's
--                     out_channels for the last stage) }
--                 a conv{} that gives stages and no mode is in mode "fixed"
--
-- Mistakes are reported as "file:line: ..." with the line of the call (and,
-- for a call inside a function, "(called from line N)").
--
-- A config runs sandboxed: bounded memory, work and CPU time; no io, os,
-- require or debug; and no Lua patterns -- string.match, gmatch and gsub are
-- refused and string.find searches for plain text only (find(s, text, 1,
-- true), or text without any of ^$*+?.([%-), because a pattern can
-- backtrack for years inside one call where no limit can stop it. A trusted
-- config may be run with --unsandboxed, which keeps the whole library.

network { name = "demo", batch = 1, bias = true }   -- every layer has a bias

-- a dense stem, as it is
local x = conv { name = "stem", in_channels = 3, out_channels = 16, size = 32,
                 kernel = 3, padding = "same", activation = "relu",
                 mode = "conventional" }

-- the optimal 2-stage chain of a strided layer that widens 16 -> 32
x = conv { name = "down", in_channels = x.channels, out_channels = 32,
           height = x.height, width = x.width, kernel = 3, stride = 2,
           padding = "same", activation = "relu" }

-- the two classic baselines, one with a non-square kernel
x = conv { name = "dw", in_channels = 32, out_channels = 32, size = x.height,
           kernel = 3, padding = 1, mode = "depthwise" }
x = conv { name = "tall", in_channels = 32, out_channels = 64, size = x.height,
           kernel = {5, 3}, padding = "same", mode = "spatial", activation = "relu" }

-- a chain written out: 3x1 with 8 groups, shuffle, 1x3 with 8 groups
-- (the N = 2 optimum for C = 64, K = 3: 2 * 64^1.5 * 3 MACs per pixel)
x = conv { name = "chain", in_channels = 64, out_channels = 64, size = x.height,
           kernel = 3, padding = 1,
           stages = { {kernel = {3, 1}, groups = 8}, {kernel = {1, 3}, groups = 8} } }

-- a residual block's second conv: relu(conv(x) + bias + r), r (the
-- block's input, the caller's) of the output's shape
x = conv { name = "res", input = x, out_channels = 64, kernel = 3, padding = 1,
           residual = true, activation = "relu" }

-- a deeper search on a 1x1 projection that narrows 64 -> 16
conv { name = "proj", in_channels = 64, out_channels = 16, size = x.height,
       kernel = 1, max_stages = 3, objective = "params" }
