"""Keras 3 (any backend, torch included): `model.fit(..., callbacks=[VaporCallback()])`.

Each batch's logs go as train/… at a step counted across epochs (from 1), each epoch's
validation logs (`val_loss` → val/loss) at the step the epoch ended on; the job's config
holds fit's params (epochs, steps) and the optimizer's settings; it is completed when fit
returns. A crash fails the job through the client's exit hook.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import keras

from vapor import Run

from ._common import numeric, safe_log, start_run

__all__ = ["VaporCallback"]


class VaporCallback(keras.callbacks.Callback):
    def __init__(
        self,
        name: Optional[str] = None,
        config: Optional[Dict[str, Any]] = None,
        tags: Optional[List[str]] = None,
        *,
        run: Optional[Run] = None,
        **init_options: Any,
    ):
        super().__init__()
        self.run = run
        self._options = {"name": name, "config": config, "tags": tags, **init_options}
        self._step = 0

    def _fit_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {"fit": dict(self.params or {})}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            try:
                config["optimizer"] = optimizer.get_config()
            except Exception:  # a custom optimizer without a config
                config["optimizer"] = {"name": type(optimizer).__name__}
        return {**config, **(self._options.get("config") or {})}

    def on_train_begin(self, logs=None):
        params = self.params or {}
        if self.run is None:
            total = (params.get("epochs") or 0) * (params.get("steps") or 0)
            options = {**self._options, "config": self._fit_config()}
            options["name"] = options.get("name") or getattr(self.model, "name", None) or "keras"
            options.setdefault("total_steps", total or None)
            self.run = start_run(None, **options)
        else:
            self.run.config.update(self._fit_config())
        self._step = self.run.step

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        safe_log(self.run, numeric({f"train/{key}": value for key, value in (logs or {}).items()}), self._step)

    def on_epoch_end(self, epoch, logs=None):
        values = {f"val/{key[4:]}": value for key, value in (logs or {}).items() if key.startswith("val_")}
        safe_log(self.run, numeric(values), max(1, self._step))

    def on_train_end(self, logs=None):
        if self.run is not None:
            self.run.finish()
