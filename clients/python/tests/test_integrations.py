"""The integrations with the real frameworks (tiny models, CPU, a few seconds each).

Needs torch, lightning, transformers, keras: tests/integration/python-client.test.ts makes a
cached virtual environment with them (clients/python/tests/requirements-integrations.txt)
and runs this file in it. Without them these tests FAIL, saying what is missing: a missing
framework must never look like a pass.
"""

from __future__ import annotations

import os
import sys
import tempfile
import unittest

os.environ.setdefault("KERAS_BACKEND", "torch")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import vapor  # noqa: E402
from fake_vapor import FakeVapor  # noqa: E402

MISSING = []
for module in ("torch", "lightning", "transformers", "keras"):
    try:
        __import__(module)
    except ImportError as error:
        MISSING.append(f"{module} ({error})")

TOKEN = "vpr_test"


class FrameworksInstalled(unittest.TestCase):
    def test_the_frameworks_are_installed(self):
        self.assertEqual(
            MISSING,
            [],
            "the integration tests need these frameworks; run them through tests/integration/python-client.test.ts,"
            " which installs them into a cached virtual environment from the local package index",
        )


class IntegrationTest(unittest.TestCase):
    def setUp(self):
        if MISSING:
            self.fail(f"cannot run: {', '.join(MISSING)} not installed")
        self.fake = FakeVapor()
        os.environ["VAPOR_URL"] = self.fake.url
        os.environ["VAPOR_TOKEN"] = TOKEN
        import torch

        torch.manual_seed(0)
        torch.set_num_threads(1)

    def tearDown(self):
        for live in vapor._run.live_runs():
            live.finish(timeout=1)
        self.fake.stop()

    def tiny_data(self):
        import torch

        x = torch.randn(64, 4)
        y = (x[:, 0] + x[:, 1] > 0).long()
        return x, y

    def test_lightning_logger_metrics_hyperparameters_and_finish(self):
        import lightning as L
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        from vapor.integrations.lightning import VaporLogger

        x, y = self.tiny_data()

        class Tiny(L.LightningModule):
            def __init__(self, lr: float = 0.1, hidden: int = 8):
                super().__init__()
                self.save_hyperparameters()
                self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))

            def training_step(self, batch, _):
                inputs, targets = batch
                logits = self.net(inputs)
                loss = torch.nn.functional.cross_entropy(logits, targets)
                self.log("train/loss", loss)
                self.log("train/accuracy", (logits.argmax(1) == targets).float().mean())
                return loss

            def validation_step(self, batch, _):
                inputs, targets = batch
                self.log("val/loss", torch.nn.functional.cross_entropy(self.net(inputs), targets))

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

        loader = DataLoader(TensorDataset(x, y), batch_size=8)
        with tempfile.TemporaryDirectory() as root:
            trainer = L.Trainer(
                max_epochs=2,
                logger=VaporLogger(name="lightning tiny", tags=["lightning"], batch_seconds=0.05),
                log_every_n_steps=1,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                default_root_dir=root,
            )
            trainer.fit(Tiny(lr=0.05), loader, loader)
        job = self.fake.jobs["job-1"]
        self.assertEqual(job["status"], "completed")
        self.assertEqual(job["tags"], ["lightning"])
        self.fake.wait_for(lambda: job["config"].get("lr") == 0.05)
        self.assertEqual(job["config"]["hidden"], 8)
        values = self.fake.values()
        train_steps = [step for step, v in values.items() if "train/loss" in v]
        self.assertEqual(train_steps, list(range(1, 17)), "16 batches, at Lightning's global step + 1")
        self.assertTrue(all(0 <= v["train/accuracy"] <= 1 for v in values.values() if "train/accuracy" in v))
        self.assertEqual(len([v for v in values.values() if "val/loss" in v]), 2)
        self.assertFalse(any("epoch" in v for v in values.values()))

    def test_lightning_logger_fails_the_job_when_fit_raises(self):
        import lightning as L
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        from vapor.integrations.lightning import VaporLogger

        x, y = self.tiny_data()

        class Breaks(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.layer = torch.nn.Linear(4, 2)

            def training_step(self, batch, index):
                if index == 3:
                    raise RuntimeError("a bug in the training step")
                loss = torch.nn.functional.cross_entropy(self.layer(batch[0]), batch[1])
                self.log("train/loss", loss)
                return loss

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.1)

        with tempfile.TemporaryDirectory() as root:
            trainer = L.Trainer(
                max_epochs=1,
                logger=VaporLogger(name="lightning breaks", batch_seconds=0.05),
                log_every_n_steps=1,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                default_root_dir=root,
            )
            with self.assertRaisesRegex(RuntimeError, "a bug in the training step"):
                trainer.fit(Breaks(), DataLoader(TensorDataset(x, y), batch_size=8))
        job = self.fake.jobs["job-1"]
        self.assertEqual(job["status"], "failed")
        self.assertEqual(job["error"], "RuntimeError: a bug in the training step")
        self.assertEqual([s for s, v in self.fake.values().items() if "train/loss" in v], [1, 2, 3])

    def test_transformers_callback_config_logs_and_end(self):
        import torch
        from transformers import Trainer, TrainingArguments

        from vapor.integrations.transformers import VaporCallback

        x, y = self.tiny_data()

        class Rows(torch.utils.data.Dataset):
            def __len__(self):
                return len(x)

            def __getitem__(self, index):
                return {"inputs": x[index], "labels": y[index]}

        class TinyModel(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = torch.nn.Linear(4, 2)

            def forward(self, inputs, labels=None):
                logits = self.layer(inputs)
                loss = torch.nn.functional.cross_entropy(logits, labels)
                return {"loss": loss, "logits": logits}

        with tempfile.TemporaryDirectory() as output:
            args = TrainingArguments(
                output_dir=output,
                run_name="hf tiny",
                num_train_epochs=2,
                per_device_train_batch_size=8,
                per_device_eval_batch_size=16,
                learning_rate=0.05,
                logging_steps=2,
                eval_strategy="epoch",
                save_strategy="no",
                report_to=[],
                use_cpu=True,
                disable_tqdm=True,
                dataloader_num_workers=0,
            )
            trainer = Trainer(
                model=TinyModel(),
                args=args,
                train_dataset=Rows(),
                eval_dataset=Rows(),
                callbacks=[VaporCallback(batch_seconds=0.05)],
            )
            trainer.train()
        job = self.fake.jobs["job-1"]
        self.assertEqual(job["name"], "hf tiny")
        self.assertEqual(job["status"], "completed")
        self.assertEqual(job["config"]["learning_rate"], 0.05)
        self.assertEqual(job["config"]["num_train_epochs"], 2)
        values = self.fake.values()
        self.assertEqual([s for s, v in values.items() if "train/loss" in v], list(range(2, 17, 2)))
        self.assertTrue(any("train/learning_rate" in v for v in values.values()))
        self.assertEqual([s for s, v in values.items() if "eval/loss" in v], [8, 16])
        self.assertIn("summary/loss", values[16])
        self.assertIn("summary/runtime", values[16])

    def test_keras_callback_with_the_torch_backend(self):
        import keras
        import numpy as np

        from vapor.integrations.keras import VaporCallback

        self.assertEqual(keras.backend.backend(), "torch")
        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        y = (x[:, 0] + x[:, 1] > 0).astype("int64")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)], name="keras_tiny")
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.05),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0, callbacks=[VaporCallback(batch_seconds=0.05)])
        job = self.fake.jobs["job-1"]
        self.assertEqual((job["name"], job["status"]), ("keras_tiny", "completed"))
        self.assertEqual(job["config"]["fit"]["epochs"], 3)
        self.assertAlmostEqual(job["config"]["optimizer"]["learning_rate"], 0.05, places=6)
        values = self.fake.values()
        # 48 training rows in batches of 16: 3 steps per epoch, counted across epochs.
        self.assertEqual([s for s, v in values.items() if "train/loss" in v], list(range(1, 10)))
        self.assertTrue(all(0 <= v["train/accuracy"] <= 1 for v in values.values() if "train/accuracy" in v))
        self.assertEqual([s for s, v in values.items() if "val/loss" in v], [3, 6, 9])


if __name__ == "__main__":
    unittest.main()
