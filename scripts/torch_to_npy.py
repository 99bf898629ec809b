#!/usr/bin/env python3
"""torch_to_npy.py -- a trained state_dict as the weight files osconv reads.

    osconv export --torch net.lua -o model.py
    python3 scripts/torch_to_npy.py model.py state.pt -o weights/      # one LAYER.npy per layer
    python3 scripts/torch_to_npy.py model.py state.pt -o w.npy --layer stem

The module's osconv_weights(name) gives each layer's parameters in
osconv's layout (stage by stage PyTorch weights, then the bias), written
as a 1-D float32 .npy that `osconv exec --weights` and the generated
kernels take as they are. With several networks in model.py, --network
picks one (default: the only one). The state_dict is loaded with
torch.load(weights_only=True) where PyTorch has it.
"""
import argparse
import importlib.util
import os
import sys

import numpy as np
import torch


def load_module(path):
    spec = importlib.util.spec_from_file_location("osconv_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def network_classes(mod):
    return {cls.network: cls for cls in vars(mod).values()
            if isinstance(cls, type) and issubclass(cls, torch.nn.Module) and hasattr(cls, "network")}


def load_state(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:   # PyTorch before 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="the .py that `osconv export --torch` wrote")
    ap.add_argument("state", help="a state_dict saved with torch.save(model.state_dict(), ...)")
    ap.add_argument("-o", "--output", required=True, help="a directory, or a .npy with --layer")
    ap.add_argument("--layer", help="one layer: write just its weights to OUTPUT")
    ap.add_argument("--network", help="the network, when model.py has several")
    args = ap.parse_args(argv)

    nets = network_classes(load_module(args.model))
    if args.network is None and len(nets) != 1:
        ap.error("model.py has networks %s: say which with --network" % ", ".join(sorted(nets)))
    name = args.network or next(iter(nets))
    if name not in nets:
        ap.error("no network '%s' in %s (it has %s)" % (name, args.model, ", ".join(sorted(nets))))
    net = nets[name]()
    net.load_state_dict(load_state(args.state))   # strict: a mismatched state_dict is an error

    layers = [args.layer] if args.layer else list(net.names)
    for layer in layers:
        if layer not in net.names:
            ap.error("network '%s' has no layer '%s'" % (name, layer))
    if not args.layer:
        os.makedirs(args.output, exist_ok=True)
    for layer in layers:
        path = args.output if args.layer else os.path.join(args.output, layer + ".npy")
        np.save(path, net.osconv_weights(layer).numpy().astype("<f4"))
        print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
