-- Long equal strings compared in the VM: the CPU-time cap.
-- expect 4: config ran for more than
local a, b = string.rep("x", 2^22), string.rep("x", 2^22)
while true do local _ = a == b end
