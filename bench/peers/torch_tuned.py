"""ResNet50 in PyTorch as an engineer would tune it for CPU inference: the
"tuned PyTorch" peer of bench/bench.ts. torchvision's resnet50 (random
weights: a convolution costs the same whatever its weights; nothing can be
downloaded here) in eval mode, channels_last memory format, traced with
torch.jit.trace, frozen with torch.jit.freeze (batch-norms folded into the
convolutions) and passed through torch.jit.optimize_for_inference, run under
torch.inference_mode with torch.set_num_threads(N).

Two modes:

- `trunk`: the trunk alone (fc removed: a [B, 2048] output) on one random
  [B, 3, 224, 224] tensor made once; images per second after warm-up runs,
  as bench/trunk.ts measures ours.
- `folder DATA_DIR`: classify every photo under DATA_DIR (recursively) as a
  deployed classifier would: Resize(256), CenterCrop(224), ToTensor,
  Normalize (ImageNet), a DataLoader of batch 16 with 2 loader workers, the
  trunk plus the course's head (Linear(2048, 512), ReLU, Dropout, Linear(512,
  2), LogSoftmax; random, untrained), one class per photo. The bench times it
  from spawn to exit, as it times `rocks predict`.

Usage: python3 torch_tuned.py trunk [--threads N] [--batch B] [--images N]
       python3 torch_tuned.py folder DATA_DIR [--threads N] [--loader-workers 2] [--batch 16]
One JSON object goes to stdout.
"""

import argparse
import json
import os
import sys
import time

import_started = time.perf_counter()
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torchvision import models, transforms  # noqa: E402
from PIL import Image  # noqa: E402

import_seconds = time.perf_counter() - import_started

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")


def tuned(model, batch):
    """channels_last, traced, frozen and optimised for inference."""
    model = model.eval().to(memory_format=torch.channels_last)
    example = torch.randn(batch, 3, 224, 224).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        traced = torch.jit.trace(model, example)
        frozen = torch.jit.freeze(traced)
        try:
            frozen = torch.jit.optimize_for_inference(frozen)
        except Exception as e:  # older builds without it: frozen is already the usual recipe
            print(f"optimize_for_inference unavailable: {e}", file=sys.stderr)
    return frozen


def trunk_mode(args):
    model = models.resnet50()
    model.fc = nn.Identity()
    started = time.perf_counter()
    net = tuned(model, args.batch)
    x = torch.randn(args.batch, 3, 224, 224).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(3):  # warm-up: the profiling executor specialises on the first runs
            net(x)
        load_seconds = time.perf_counter() - started
        done = 0
        t0 = time.perf_counter()
        while done < args.images:
            out = net(x)
            if tuple(out.shape) != (args.batch, 2048):
                raise SystemExit(f"unexpected output {tuple(out.shape)}")
            done += args.batch
        seconds = time.perf_counter() - t0
    return {
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "images": done,
        "seconds": seconds,
        "imagesPerSecond": done / seconds,
        "loadSeconds": load_seconds,
    }


class Photos(torch.utils.data.Dataset):
    """Every photo under a folder, in sorted order."""

    def __init__(self, root, transform):
        self.paths = sorted(
            os.path.join(d, f)
            for d, _, files in os.walk(root)
            for f in files
            if f.lower().endswith(PHOTO_EXTENSIONS)
        )
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return self.transform(im.convert("RGB"))


def folder_mode(args):
    model = models.resnet50()
    model.fc = nn.Sequential(
        nn.Linear(2048, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 2), nn.LogSoftmax(dim=1)
    )
    net = tuned(model, args.batch)
    data = Photos(args.data, transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ]))
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, num_workers=args.loader_workers)
    classes = []
    started = time.perf_counter()
    with torch.inference_mode():
        for x in loader:
            x = x.to(memory_format=torch.channels_last)
            if x.shape[0] != args.batch:  # the traced graph was specialised on full batches
                x = torch.cat([x, x.new_zeros((args.batch - x.shape[0], *x.shape[1:]))])[: args.batch]
                classes.extend(net(x).argmax(1).tolist()[: len(data) - len(classes)])
            else:
                classes.extend(net(x).argmax(1).tolist())
    return {
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "loaderWorkers": args.loader_workers,
        "photos": len(data),
        "predictions": len(classes),
        "seconds": time.perf_counter() - started,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["trunk", "folder"])
    parser.add_argument("data", nargs="?")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--loader-workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.mode == "folder" and not args.data:
        parser.error("folder needs DATA_DIR")
    result = trunk_mode(args) if args.mode == "trunk" else folder_mode(args)
    result.update({
        "mode": args.mode,
        "torch": torch.__version__,
        "importSeconds": import_seconds,
        "recipe": "channels_last, jit.trace, jit.freeze, optimize_for_inference, inference_mode",
    })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
