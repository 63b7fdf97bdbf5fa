"""Writes torchvision's ResNet50 trunk (fc removed, randomly initialised) as
an ONNX file, for the onnxruntime-web peer of bench/bench.ts.

No pretrained weights are downloaded: the peer only measures speed, and a
convolution costs the same whatever its weights are. The output is the
2048-d global average pool, input NCHW float32 [N, 3, 224, 224], N dynamic.

Usage: python3 export_resnet50_onnx.py OUT.onnx
Prints one JSON object on stdout.
"""

import json
import sys
import time

import torch
import torchvision


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: export_resnet50_onnx.py OUT.onnx")
    out = sys.argv[1]
    started = time.perf_counter()
    torch.manual_seed(0)
    try:
        model = torchvision.models.resnet50(weights=None)
    except TypeError:  # torchvision < 0.13
        model = torchvision.models.resnet50(pretrained=False)
    model.fc = torch.nn.Identity()
    model.eval()
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(
        model,
        x,
        out,
        input_names=["input"],
        output_names=["embedding"],
        dynamic_axes={"input": {0: "n"}, "embedding": {0: "n"}},
        opset_version=13,
    )
    print(json.dumps({
        "file": out,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seconds": time.perf_counter() - started,
    }))


if __name__ == "__main__":
    main()
