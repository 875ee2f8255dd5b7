"""Trains a small PyTorch MLP on scikit-learn's bundled digits (8x8 images, 10 classes; no
download) on the CPU and reports it live into Vapor with `vapor.init` / `run.log`.

    pip install torch scikit-learn ./clients/python      # or just torch and scikit-learn
    VAPOR_URL=http://localhost:5173 VAPOR_TOKEN=vpr_… python3 clients/examples/digits_torch.py

Logs train/loss and train/accuracy every step, val/loss and val/accuracy every
--eval-every steps, lr from a real scheduler (linear warm-up, then cosine decay) and
grad_norm, with every hyperparameter as the job's config. --steps 3000 takes a few seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

try:
    import vapor
except ImportError:  # not installed: the package beside this folder
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import vapor

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("VAPOR_URL"), help="default VAPOR_URL, else http://localhost:3000")
    parser.add_argument("--token", default=os.environ.get("VAPOR_TOKEN"), help="default VAPOR_TOKEN")
    parser.add_argument("--name", default="digits MLP (PyTorch)")
    parser.add_argument("--steps", type=int, default=int(os.environ.get("DIGITS_STEPS", 3000)))
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--warmup-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def digits(seed: int):
    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)  # pixels are 0..16
    y = torch.tensor(data.target, dtype=torch.long)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    return x_train, x_val, y_train, y_val


def model_for(hidden: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, 10),
    )


def warmup_cosine(optimizer: torch.optim.Optimizer, steps: int, warmup_fraction: float):
    """Linear warm-up over the first steps, then cosine decay to 1 % of the peak."""
    warmup = max(1, int(steps * warmup_fraction))
    return torch.optim.lr_scheduler.SequentialLR(
        optimizer,
        schedulers=[
            torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup),
            torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=max(1, steps - warmup), eta_min=optimizer.defaults["lr"] * 0.01
            ),
        ],
        milestones=[warmup],
    )


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    x_train, x_val, y_train, y_val = digits(args.seed)
    model = model_for(args.hidden, args.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = warmup_cosine(optimizer, args.steps, args.warmup_fraction)
    loss_fn = nn.CrossEntropyLoss()

    config = {
        "model": {"kind": "mlp", "layers": [64, args.hidden, args.hidden, 10], "dropout": args.dropout},
        "optimizer": {"name": "adamw", "lr": args.lr, "weight_decay": args.weight_decay},
        "schedule": {"warmup": "linear", "warmup_fraction": args.warmup_fraction, "decay": "cosine"},
        "data": {"dataset": "sklearn digits", "train": len(x_train), "val": len(x_val)},
        "batch_size": args.batch_size,
        "steps": args.steps,
        "seed": args.seed,
    }
    run = vapor.init(
        name=args.name,
        config=config,
        tags=["example", "digits", "pytorch"],
        url=args.url,
        token=args.token,
        total_steps=args.steps,
    )
    print(f"job {run.id}: {args.steps} steps", flush=True)

    generator = torch.Generator().manual_seed(args.seed)
    batches_per_epoch = math.ceil(len(x_train) / args.batch_size)
    order = torch.randperm(len(x_train), generator=generator)
    val_accuracy = float("nan")
    with run:  # completes the job, or fails it with the exception if training raises
        for step in range(1, args.steps + 1):
            index = (step - 1) % batches_per_epoch
            if index == 0:
                order = torch.randperm(len(x_train), generator=generator)
            batch = order[index * args.batch_size : (index + 1) * args.batch_size]
            model.train()
            logits = model(x_train[batch])
            loss = loss_fn(logits, y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()

            accuracy = (logits.argmax(dim=1) == y_train[batch]).float().mean()
            run.log(
                {
                    "train/loss": loss.item(),
                    "train/accuracy": accuracy.item(),
                    "lr": lr,
                    "grad_norm": grad_norm.item(),
                },
                step=step,
            )
            if step % args.eval_every == 0 or step == args.steps:
                model.eval()
                with torch.no_grad():
                    val_logits = model(x_val)
                    val_loss = loss_fn(val_logits, y_val).item()
                    val_accuracy = (val_logits.argmax(dim=1) == y_val).float().mean().item()
                run.log({"val/loss": val_loss, "val/accuracy": val_accuracy}, step=step)
                print(f"step {step}: val/loss {val_loss:.4f} val/accuracy {val_accuracy:.3f}", flush=True)

    print(f"job {run.id} {(run.job or {}).get('status')}: val accuracy {val_accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
