"""PyTorch side of `npm run fidelity:paired` (src/bench/paired.ts): trains akamaster's ResNet-20
(scripts/pytorch_reference.py) from the workspace's initial weights on the workspace's batches.

    fidelity_paired.py DIR STEPS BATCH LR

DIR holds init.json (the parameters in named_parameters order, PyTorch layouts), images.u8 (STEPS x
BATCH x 32 x 32 x 3 bytes, NHWC, augmented) and labels.u8. Normalises as scripts/fidelity_torch.py does,
trains with torch.optim.SGD (momentum 0.9, weight decay 1e-4, constant LR), one thread, and prints the
STEPS training losses as one JSON array.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import build_model  # noqa: E402
from fidelity_torch import normalise  # noqa: E402  (the fidelity trainer's normalisation)


def main():
    folder, steps, batch, lr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(1)
    model = build_model(torch)
    init = json.load(open(os.path.join(folder, "init.json")))
    params = list(model.parameters())
    if len(params) != len(init):
        sys.exit(f"init.json has {len(init)} parameters, the model {len(params)}")
    with torch.no_grad():
        for p, w in zip(params, init):
            if list(p.shape) != w["shape"]:
                sys.exit(f"init.json: shape {w['shape']} where the model has {list(p.shape)}")
            p.copy_(torch.tensor(w["values"], dtype=torch.float32).view(w["shape"]))
    images = np.fromfile(os.path.join(folder, "images.u8"), dtype=np.uint8).reshape(steps, batch, 32, 32, 3)
    labels = np.fromfile(os.path.join(folder, "labels.u8"), dtype=np.uint8).reshape(steps, batch)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    model.train()
    losses = []
    for s in range(steps):
        x = normalise(torch, torch.from_numpy(images[s]).permute(0, 3, 1, 2))
        y = torch.from_numpy(labels[s].astype(np.int64))
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(json.dumps(losses))


if __name__ == "__main__":
    main()
