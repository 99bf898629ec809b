#!/usr/bin/env python3
"""roundtrip.py OSCONV -- PyTorch and osconv compute the same layers.

Seeded random layers in every mode go into one config; `osconv export
--torch` turns it into modules, PyTorch initializes them at random and runs
each layer on a random input (and a random residual, for the layers with
residual = true: act(stages(x) + r)); scripts/torch_to_npy.py writes the weights;
`osconv exec` runs the same layer AOT (cc) and through the JIT. Every
output must agree with PyTorch's within 1e-5 relative L2. The weights pass
through the user's path (state_dict -> torch_to_npy), so a layout mistake
anywhere fails here. Prints 'N passed, N failed'; exits non-zero on any
failure.
"""
import importlib.util
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TO_NPY = os.path.join(HERE, "..", "..", "scripts", "torch_to_npy.py")
FIXED_GROUPS = {4: (2, 2), 8: (2, 4), 12: (3, 4), 16: (4, 4)}   # fan-ins multiply to >= C


def random_layer(rng, i, mode):
    c = rng.choice([4, 8, 12, 16])
    c_out = rng.choice([c, 2 * c]) if mode != "fixed" else c
    k = rng.choice([1, 3, 5]) if mode in ("conventional", "optimal") else rng.choice([3, 5])
    kh, kw = (k, k) if rng.random() < 0.7 or k == 1 else (k, rng.choice([1, 3]) if k != 1 else 1)
    if mode == "spatial" and kw == 1:
        kw = 3
    size = (rng.randint(max(kh, 3), 12), rng.randint(max(kw, 3), 12))
    f = {"name": "l%d_%s" % (i, mode), "in_channels": c, "out_channels": c_out,
         "height": size[0], "width": size[1], "kernel": "{%d, %d}" % (kh, kw),
         "stride": rng.choice([1, 1, 2]), "padding": "{%d, %d}" % (rng.randint(0, kh // 2),
                                                                  rng.randint(0, kw // 2)),
         "bias": rng.choice(["true", "false"]), "activation": rng.choice(['"none"', '"relu"', '"relu6"', '{"clamp", -0.5, 0.75}']),
         "residual": rng.choice(["true", "false"]), "mode": '"%s"' % mode}
    if mode == "optimal":
        f["max_stages"] = rng.choice([2, 3, 4])
    if mode == "fixed":
        g1, g2 = FIXED_GROUPS[c]
        f["stages"] = "{{kernel = {%d, 1}, groups = %d}, {kernel = {1, %d}, groups = %d}}" % (
            kh, g1, kw, g2)
    fields = ", ".join("%s = %s" % (key, v if key not in ("name",) else '"%s"' % v)
                       for key, v in f.items())
    return f["name"], "conv { %s }\n" % fields


def load_module(path):
    spec = importlib.util.spec_from_file_location("osconv_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rel_l2(a, b):
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-30))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def main(osconv, per_mode):
    rng = random.Random(20261201)
    torch.manual_seed(20261201)
    modes = ["conventional", "depthwise", "spatial", "optimal", "fixed"]
    layers = [random_layer(rng, i, m) for i in range(per_mode) for m in modes]
    passed = failed = n_res = 0
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "rt.lua")
        with open(cfg, "w") as fh:
            fh.write('network { name = "rt", batch = 2 }\n' + "".join(src for _, src in layers))
        model_py = os.path.join(tmp, "model.py")
        run([osconv, "export", "--torch", cfg, "-o", model_py])
        net = load_module(model_py).Rt()
        with torch.no_grad():
            for p in net.parameters():   # default init leaves biases tiny: use unit scale
                p.copy_(torch.randn_like(p))
        state = os.path.join(tmp, "state.pt")
        torch.save(net.state_dict(), state)
        wdir = os.path.join(tmp, "w")
        run([sys.executable, TO_NPY, model_py, state, "-o", wdir])
        for name, _ in layers:
            l = net.layers[net.names[name]]
            conv = l[0]
            x = torch.randn(2, conv.in_channels, *layer_size(cfg_line(layers, name)))
            res, extra_in = None, []
            if "residual = true" in cfg_line(layers, name):
                with torch.no_grad():
                    res = torch.randn_like(l(x, 0))   # the output's shape
                n_res += 1
                rin = os.path.join(tmp, "r.npy")
                np.save(rin, res.numpy())
                extra_in = ["--residual", rin]
            with torch.no_grad():
                want = net.run(name, x, res).numpy()
            xin = os.path.join(tmp, "x.npy")
            np.save(xin, x.numpy())
            for extra in ([], ["--jit"]):
                out = os.path.join(tmp, "y.npy")
                try:
                    run([osconv, "exec", cfg, "--layer", name, "--input", xin, "--weights",
                         os.path.join(wdir, name + ".npy"), "--output", out] + extra_in + extra)
                    got = np.load(out)
                    err = rel_l2(got, want) if got.shape == want.shape else float("inf")
                except RuntimeError as e:
                    err, msg = float("inf"), str(e)
                else:
                    msg = "shape %s vs %s, rel L2 %.3g" % (got.shape, want.shape, err)
                if err < 1e-5:
                    passed += 1
                else:
                    failed += 1
                    print("FAIL %s %s: %s" % (name, "jit" if extra else "aot", msg))
    print("torch round trip: %d layers in 5 modes (%d with a residual), AOT and JIT against "
          "PyTorch %s" % (len(layers), n_res, torch.__version__))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed or not n_res else 0


def cfg_line(layers, name):
    return next(src for n, src in layers if n == name)


def layer_size(src):
    h = int(src.split("height = ")[1].split(",")[0])
    w = int(src.split("width = ")[1].split(",")[0])
    return h, w


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(os.environ.get("OSCONV_TORCH_LAYERS", "6"))))
