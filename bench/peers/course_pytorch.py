"""The Microsoft Learn "Classify space rocks" training notebook, written as a
script: the PyTorch peer of bench/bench.ts. It follows the notebook's steps
and defaults; the only change is that ResNet50 starts from random weights
(no download here), which costs the same time as the pretrained ones.

1. ImageFolder on the data folder, transforms RandomResizedCrop(224),
   Resize(224), ToTensor (the course's, for training and testing alike);
2. a random 80/20 split of the indices, two SubsetRandomSamplers, DataLoaders
   of batch 16 (num_workers 0, the default the course uses);
3. resnet50 with every parameter frozen and fc replaced by
   Linear(2048, 512), ReLU, Dropout(0.2), Linear(512, 2), LogSoftmax;
4. NLLLoss, Adam on fc's parameters, lr 0.003;
5. 5 epochs; every 5 steps the whole test loader is run through the model
   (the trunk included, as the notebook does) and the course's line printed.

Usage: python3 course_pytorch.py DATA_DIR [--threads N] [--epochs 5] [--seed 1]
Progress lines go to stderr; one JSON object goes to stdout, with `seconds`
(from the start of the script's work, imports excluded) and `importSeconds`.
"""

import argparse
import json
import sys
import time

import_started = time.perf_counter()
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn, optim  # noqa: E402
from torch.utils.data.sampler import SubsetRandomSampler  # noqa: E402
from torchvision import datasets, models, transforms  # noqa: E402

import_seconds = time.perf_counter() - import_started


def load_split_train_test(datadir, valid_size=0.2):
    """The notebook's loader: one random split, two samplers, batch 16."""
    train_transforms = transforms.Compose([
        transforms.RandomResizedCrop(224),
        transforms.Resize(224),
        transforms.ToTensor(),
    ])
    test_transforms = transforms.Compose([
        transforms.RandomResizedCrop(224),
        transforms.Resize(224),
        transforms.ToTensor(),
    ])
    train_data = datasets.ImageFolder(datadir, transform=train_transforms)
    test_data = datasets.ImageFolder(datadir, transform=test_transforms)
    num_train = len(train_data)
    indices = list(range(num_train))
    split = int(np.floor(valid_size * num_train))
    np.random.shuffle(indices)
    train_idx, test_idx = indices[split:], indices[:split]
    trainloader = torch.utils.data.DataLoader(
        train_data, sampler=SubsetRandomSampler(train_idx), batch_size=16)
    testloader = torch.utils.data.DataLoader(
        test_data, sampler=SubsetRandomSampler(test_idx), batch_size=16)
    return trainloader, testloader, train_data.classes, len(train_idx), len(test_idx)


def resnet50_random():
    try:
        return models.resnet50(weights=None)
    except TypeError:  # torchvision < 0.13
        return models.resnet50(pretrained=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    started = time.perf_counter()

    trainloader, testloader, classes, n_train, n_test = load_split_train_test(args.data_dir, 0.2)

    device = torch.device("cpu")
    model = resnet50_random()
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Sequential(
        nn.Linear(2048, 512),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(512, len(classes)),
        nn.LogSoftmax(dim=1),
    )
    criterion = nn.NLLLoss()
    optimizer = optim.Adam(model.fc.parameters(), lr=0.003)
    model.to(device)

    epochs = args.epochs
    steps = 0
    running_loss = 0
    print_every = 5
    trunk_images = 0
    accuracy_last = None
    for epoch in range(epochs):
        for inputs, labels in trainloader:
            steps += 1
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            logps = model.forward(inputs)
            trunk_images += inputs.shape[0]
            loss = criterion(logps, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if steps % print_every == 0:
                test_loss = 0
                accuracy = 0
                model.eval()
                with torch.no_grad():
                    for inputs, labels in testloader:
                        inputs, labels = inputs.to(device), labels.to(device)
                        logps = model.forward(inputs)
                        trunk_images += inputs.shape[0]
                        batch_loss = criterion(logps, labels)
                        test_loss += batch_loss.item()
                        ps = torch.exp(logps)
                        top_p, top_class = ps.topk(1, dim=1)
                        equals = top_class == labels.view(*top_class.shape)
                        accuracy += torch.mean(equals.type(torch.FloatTensor)).item()
                accuracy_last = accuracy / len(testloader)
                print(f"Epoch {epoch+1}/{epochs}.. "
                      f"Train loss: {running_loss/print_every:.3f}.. "
                      f"Test loss: {test_loss/len(testloader):.3f}.. "
                      f"Test accuracy: {accuracy_last:.3f}", file=sys.stderr)
                running_loss = 0
                model.train()

    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds,
        "importSeconds": import_seconds,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "trainCount": n_train,
        "testCount": n_test,
        "trunkImages": trunk_images,
        "testAccuracy": accuracy_last,
        "torch": torch.__version__,
        "weights": "random (timing only)",
    }))


if __name__ == "__main__":
    main()
