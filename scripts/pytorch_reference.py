#!/usr/bin/env python3
"""PyTorch CPU reference for the training-speed bench (src/bench/bench.ts).

ResNet-20 option A exactly as akamaster/pytorch_resnet_cifar10 (resnet.py): 3x3 convs without
bias (padding 1), BatchNorm2d (momentum 0.1, eps 1e-5), option-A shortcut
F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes//4, planes//4)), global average pooling, Linear(64, 10);
kaiming_normal_ (He-normal, fan_in) init of conv and linear weights. Trains with SGD lr 0.1,
momentum 0.9, weight decay 1e-4, batch 128, softmax cross-entropy, for a fixed number of steps on
CIFAR-10 records (--data, official 3073-byte binary) or random normal data, and prints ONE JSON line.
With --channels-last the model and the input use torch.channels_last (NHWC) memory format, PyTorch's
fastest CPU configuration here (oneDNN's blocked NHWC convolutions); the bench also unsets
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for that command only, so OpenBLAS picks its own kernels.


  {"imagesPerSecond": ..., "threads": N, "steps": ..., "batch": ..., "seconds": ..., ...}

Usage:
  /usr/bin/python3 scripts/pytorch_reference.py --threads 1 --steps 20 --warmup 3 \
      --data ../shared/data/cifar-10-batches-bin/data_batch_1.bin
  /usr/bin/python3 scripts/pytorch_reference.py --params      # prints {"trainableParameters": 269722}
"""
import argparse
import json
import os
import sys
import time


def build_model(torch):
    nn = torch.nn
    F = torch.nn.functional
    init = torch.nn.init

    def weights_init(m):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            init.kaiming_normal_(m.weight)

    class LambdaLayer(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x)

    class BasicBlock(nn.Module):
        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != planes:
                self.shortcut = LambdaLayer(
                    lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4), "constant", 0))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out = out + self.shortcut(x)
            return F.relu(out)

    class ResNet(nn.Module):
        def __init__(self, num_blocks=(3, 3, 3), num_classes=10):
            super().__init__()
            self.in_planes = 16
            self.conv1 = nn.Conv2d(3, 16, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.layer1 = self._make_layer(16, num_blocks[0], 1)
            self.layer2 = self._make_layer(32, num_blocks[1], 2)
            self.layer3 = self._make_layer(64, num_blocks[2], 2)
            self.linear = nn.Linear(64, num_classes)
            self.apply(weights_init)

        def _make_layer(self, planes, n, stride):
            layers = []
            for s in [stride] + [1] * (n - 1):
                layers.append(BasicBlock(self.in_planes, planes, s))
                self.in_planes = planes
            return nn.Sequential(*layers)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer3(self.layer2(self.layer1(out)))
            out = F.avg_pool2d(out, out.size()[3])
            return self.linear(out.view(out.size(0), -1))

    return ResNet()


def load_cifar(torch, path, count):
    """First `count` records of an official CIFAR-10 binary file -> normalised NCHW floats, labels."""
    rec = 3073
    with open(path, "rb") as f:
        raw = f.read(rec * count)
    n = len(raw) // rec
    data = torch.frombuffer(bytearray(raw[: n * rec]), dtype=torch.uint8).view(n, rec)
    labels = data[:, 0].long()
    images = data[:, 1:].float().div_(255.0).view(n, 3, 32, 32)
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    return (images - mean) / std, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--steps", type=int, default=20, help="timed SGD steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--data", default=None, help="CIFAR-10 binary file (3073-byte records); random normal data if absent")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--channels-last", action="store_true",
                    help="model and input in torch.channels_last memory format (fastest CPU configuration)")
    ap.add_argument("--params", action="store_true", help="print the number of trainable parameters and exit")
    args = ap.parse_args()

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = build_model(torch)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if args.params:
        print(json.dumps({"trainableParameters": n_params}))
        return

    total = args.warmup + args.steps
    if args.data and os.path.exists(args.data):
        images, labels = load_cifar(torch, args.data, min(10000, args.batch * total))
        source = "cifar10:" + os.path.basename(args.data)
    else:
        if args.data:
            print(f"warning: {args.data} not found, using random data", file=sys.stderr)
        images = torch.randn(args.batch * 8, 3, 32, 32)
        labels = torch.randint(0, 10, (args.batch * 8,))
        source = "random-normal"
    n = images.shape[0]
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    images = images.contiguous(memory_format=memory_format)

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(i):
        lo = (i * args.batch) % max(1, n - args.batch + 1)
        x = images[lo:lo + args.batch]
        y = labels[lo:lo + args.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(args.warmup):
        step(i)
    t0 = time.perf_counter()
    c0 = time.process_time()
    loss = float("nan")
    for i in range(args.warmup, total):
        loss = step(i)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(json.dumps({
        "imagesPerSecond": args.batch * args.steps / dt,
        "imagesPerCpuSecond": args.batch * args.steps / cpu,
        "threads": args.threads,
        "channelsLast": bool(args.channels_last),
        "openblasEnv": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "steps": args.steps,
        "batch": args.batch,
        "seconds": dt,
        "data": source,
        "lastLoss": loss,
        "trainableParameters": n_params,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
