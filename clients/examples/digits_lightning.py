"""The digits MLP of digits_torch.py, trained with PyTorch Lightning and reported into Vapor
by the package's VaporLogger (no download; CPU).

    pip install torch lightning scikit-learn ./clients/python
    VAPOR_URL=http://localhost:5173 VAPOR_TOKEN=vpr_… python3 clients/examples/digits_lightning.py

`self.log(...)` values arrive as named metrics (train/loss, train/accuracy, lr, grad_norm
every step; val/loss, val/accuracy every --eval-every steps), `save_hyperparameters()` as
the job's config; the job completes when fit ends and fails if it raises.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

try:
    from vapor.integrations.lightning import VaporLogger
except ImportError:  # not installed: the package beside this folder
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    from vapor.integrations.lightning import VaporLogger

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from digits_torch import digits, model_for, warmup_cosine  # noqa: E402  the same data, model and schedule


class DigitsMLP(L.LightningModule):
    def __init__(self, hidden: int, dropout: float, lr: float, weight_decay: float, steps: int, warmup_fraction: float):
        super().__init__()
        self.save_hyperparameters()  # → the job's config, through VaporLogger.log_hyperparams
        self.net = model_for(hidden, dropout)
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch, _index):
        inputs, targets = batch
        logits = self.net(inputs)
        loss = self.loss_fn(logits, targets)
        self.log("train/loss", loss)
        self.log("train/accuracy", (logits.argmax(dim=1) == targets).float().mean())
        self.log("lr", self.lr_schedulers().get_last_lr()[0])
        return loss

    def on_before_optimizer_step(self, optimizer):
        norms = [p.grad.detach().norm(2) for p in self.parameters() if p.grad is not None]
        self.log("grad_norm", torch.linalg.vector_norm(torch.stack(norms), 2))

    def validation_step(self, batch, _index):
        inputs, targets = batch
        logits = self.net(inputs)
        self.log("val/loss", self.loss_fn(logits, targets))
        self.log("val/accuracy", (logits.argmax(dim=1) == targets).float().mean())

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        scheduler = warmup_cosine(optimizer, self.hparams.steps, self.hparams.warmup_fraction)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("VAPOR_URL"), help="default VAPOR_URL, else http://localhost:3000")
    parser.add_argument("--token", default=os.environ.get("VAPOR_TOKEN"), help="default VAPOR_TOKEN")
    parser.add_argument("--name", default="digits MLP (Lightning)")
    parser.add_argument("--steps", type=int, default=int(os.environ.get("DIGITS_STEPS", 3000)))
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--warmup-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    L.seed_everything(args.seed, verbose=False)
    x_train, x_val, y_train, y_val = digits(args.seed)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)
    val = DataLoader(TensorDataset(x_val, y_val), batch_size=len(x_val))
    model = DigitsMLP(args.hidden, args.dropout, args.lr, args.weight_decay, args.steps, args.warmup_fraction)
    logger = VaporLogger(
        name=args.name,
        config={"data": {"dataset": "sklearn digits", "train": len(x_train), "val": len(x_val)}, "batch_size": args.batch_size},
        tags=["example", "digits", "lightning"],
        url=args.url,
        token=args.token,
        total_steps=args.steps,
    )
    with tempfile.TemporaryDirectory() as root:
        trainer = L.Trainer(
            max_steps=args.steps,
            val_check_interval=args.eval_every,
            check_val_every_n_epoch=None,
            num_sanity_val_steps=0,
            logger=logger,
            log_every_n_steps=1,
            accelerator="cpu",
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=root,
        )
        trainer.fit(model, train, val)
    run = logger.experiment
    metrics = trainer.callback_metrics
    print(
        f"job {run.id} {(run.job or {}).get('status')}: val accuracy {float(metrics.get('val/accuracy', float('nan'))):.3f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
