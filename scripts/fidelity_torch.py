#!/usr/bin/env python3
"""Independent PyTorch trainer for the fidelity check (`npm run fidelity`, src/bench/fidelity.ts).

Trains ResNet-20 option A (akamaster/pytorch_resnet_cifar10, the model of scripts/pytorch_reference.py)
on CIFAR-10 with the workspace's method, written again here from the papers and PyTorch's own parts,
sharing none of the workspace's code or random streams:
- data: the official binary files; training records = data_batch_1..5 concatenated (50,000), the
  train / validation record indices given in --split (the workspace's split, so both sides see the
  same images), the first --test-count records of test_batch.bin; per-channel normalisation with the
  CIFAR-10 mean (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616);
- augmentation (He et al. 2015, section 4.2): 4 pixels of zero padding, a random 32x32 crop, a
  horizontal flip with probability 1/2; a new random order of the training images every epoch; the
  last batch of an epoch is smaller (drop_last=False);
- SGD: momentum 0.9, weight decay 1e-4 on every parameter (torch.optim.SGD), batch 128, softmax
  cross-entropy, batch norm momentum 0.1 and eps 1e-5 (PyTorch defaults);
- learning rate set before every iteration from the schedule (--schedule, the workspace's JSON):
  step: lr * gamma^(milestones passed); constant; cosine (SGDR, Loshchilov & Hutter 2017, eq. 5) with
  restarts every cycleLengthEpochs * iterations-per-epoch iterations (cycleMult 1), and fastai 0.7's
  warm-up (lr/100 while the iteration < cycle length / 20).
Evaluation after every epoch, in eval mode (running statistics), on the validation and test images.

Prints one JSON line per epoch on stdout:
  {"epoch", "iteration", "learningRate", "trainLoss", "trainAccuracy", "validationLoss",
   "validationAccuracy", "testLoss", "testAccuracy", "seconds", "cpuSeconds"}

With --checkpoint FILE it saves, after every epoch's line, the model, the optimiser's momentum, both
random generators' states, the iteration and the time spent (torch.save, written to FILE.tmp then
renamed), and a later call with the same FILE and the same arguments resumes after that epoch: it
prints only the epochs after it, the same as an uninterrupted run would (a file from other arguments
is an error naming it).

Usage:
  /usr/bin/python3 scripts/fidelity_torch.py --data DIR --split split.json --seed 0 --epochs 10 \
      --schedule '{"kind":"step","lr":0.1,"milestones":[32000,48000],"gamma":0.1}' [--threads 1] [--test-count N]
      [--checkpoint FILE]
split.json: {"train": [record indices], "validation": [record indices]} into the 50,000 training records.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import build_model  # noqa: E402  (the same akamaster model as the bench)

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
REC = 3073


def read_records(torch, path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) % REC:
        sys.exit(f"{path}: {len(raw)} bytes is not a whole number of {REC}-byte records")
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, REC)
    return data[:, 1:].reshape(-1, 3, 32, 32).clone(), data[:, 0].long().clone()


def normalise(torch, u8):
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (u8.float().div_(255.0) - mean) / std


def learning_rate(spec, iteration, per_epoch):
    kind = spec["kind"]
    if kind == "constant":
        return spec["lr"]
    if kind == "step":
        passed = sum(1 for m in spec["milestones"] if m <= iteration)
        return spec["lr"] * spec["gamma"] ** passed
    if kind == "cosine":
        if spec.get("cycleMult", 1) != 1:
            sys.exit("fidelity_torch.py: cosine with cycleMult != 1 is not implemented")
        cycle = spec["cycleLengthEpochs"] * per_epoch
        if spec.get("warmup") == "fastai" and iteration < math.ceil(cycle / 20):
            return spec["lrMax"] / 100
        t = iteration % cycle
        return spec["lrMin"] + (spec["lrMax"] - spec["lrMin"]) * (1 + math.cos(math.pi * t / cycle)) / 2
    sys.exit(f"fidelity_torch.py: unknown schedule kind {kind!r}")


def augment(torch, x, gen):
    """Pad-4 random crop and horizontal flip of a uint8 NCHW batch (zero padding = black before normalisation)."""
    n = x.shape[0]
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = crop.flip(2) if flip[i] else crop
    return out


def evaluate(torch, model, images, labels, memory_format):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for lo in range(0, images.shape[0], 200):
            x = images[lo:lo + 200].contiguous(memory_format=memory_format)
            y = labels[lo:lo + 200]
            out = model(x)
            loss_sum += torch.nn.functional.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
    model.train()
    n = images.shape[0]
    return loss_sum / n, correct / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder of the official CIFAR-10 binary files")
    ap.add_argument("--split", required=True, help="JSON file with train and validation record indices")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--schedule", required=True, help="the workspace's schedule JSON")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--test-count", type=int, default=None, help="first N test images (default all)")
    ap.add_argument("--checkpoint", default=None, help="file to save after every epoch and resume from")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1_000_003)
    spec = json.loads(args.schedule)
    with open(args.split) as f:
        split = json.load(f)

    parts = [read_records(torch, os.path.join(args.data, f"data_batch_{i}.bin")) for i in range(1, 6)]
    train_u8 = torch.cat([p[0] for p in parts])
    train_labels = torch.cat([p[1] for p in parts])
    test_u8, test_labels = read_records(torch, os.path.join(args.data, "test_batch.bin"))
    if args.test_count is not None:
        test_u8, test_labels = test_u8[:args.test_count], test_labels[:args.test_count]
    tr = torch.tensor(split["train"], dtype=torch.long)
    va = torch.tensor(split["validation"], dtype=torch.long)
    x_train, y_train = train_u8[tr], train_labels[tr]
    x_val, y_val = normalise(torch, train_u8[va]), train_labels[va]
    x_test, y_test = normalise(torch, test_u8), test_labels

    memory_format = torch.channels_last
    model = build_model(torch).to(memory_format=memory_format)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    n = x_train.shape[0]
    per_epoch = math.ceil(n / args.batch)
    iteration, first, spent, cpu_spent = 0, 1, 0.0, 0.0
    # what a checkpoint must have been saved under to be resumed (everything that changes the run)
    identity = {"seed": args.seed, "schedule": spec, "batch": args.batch, "threads": args.threads,
                "testCount": args.test_count, "train": split["train"], "validation": split["validation"]}
    if args.checkpoint and os.path.exists(args.checkpoint):
        saved = torch.load(args.checkpoint)
        if saved["identity"] != identity:
            sys.exit(f"{args.checkpoint}: a checkpoint of another run (seed, schedule, split, batch or threads differ); remove it to start again")
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["torch_rng"])
        gen.set_state(saved["generator"])
        iteration, first, spent, cpu_spent = saved["iteration"], saved["epoch"] + 1, saved["seconds"], saved["cpuSeconds"]
    t0, c0 = time.perf_counter() - spent, time.process_time() - cpu_spent
    for epoch in range(first, args.epochs + 1):
        order = torch.randperm(n, generator=gen)
        loss_sum, correct, lr = 0.0, 0, 0.0
        for b in range(per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            x = normalise(torch, augment(torch, x_train[idx], gen)).contiguous(memory_format=memory_format)
            y = y_train[idx]
            lr = learning_rate(spec, iteration, per_epoch)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = torch.nn.functional.cross_entropy(out, y)
            loss.backward()
            opt.step()
            iteration += 1
            loss_sum += loss.item() * idx.shape[0]
            correct += (out.argmax(1) == y).sum().item()
            if not math.isfinite(loss.item()):
                sys.exit(f"training loss became {loss.item()} at epoch {epoch}, iteration {iteration}")
        val_loss, val_acc = evaluate(torch, model, x_val, y_val, memory_format)
        test_loss, test_acc = evaluate(torch, model, x_test, y_test, memory_format)
        print(json.dumps({
            "epoch": epoch, "iteration": iteration, "learningRate": lr,
            "trainLoss": loss_sum / n, "trainAccuracy": correct / n,
            "validationLoss": val_loss, "validationAccuracy": val_acc,
            "testLoss": test_loss, "testAccuracy": test_acc,
            "seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0,
            "torch": torch.__version__,
        }), flush=True)
        if args.checkpoint:
            torch.save({"identity": identity, "epoch": epoch, "iteration": iteration, "model": model.state_dict(),
                        "optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state(), "generator": gen.get_state(),
                        "seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0}, args.checkpoint + ".tmp")
            os.replace(args.checkpoint + ".tmp", args.checkpoint)


if __name__ == "__main__":
    main()
