"""Hugging Face Transformers: `Trainer(..., callbacks=[VaporCallback()])`.

on_train_begin creates the job with the TrainingArguments (and the model's config under
"model") as its config; on_log sends the logged scalars (`loss` → train/loss,
`eval_loss` → eval/loss, the final `train_runtime` → summary/runtime, …) at the global step; on_train_end finishes it. A crash fails
the job through the client's exit hook.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from transformers import TrainerCallback

from vapor import Run

from ._common import numeric, safe_log, start_run

__all__ = ["VaporCallback"]

SPLITS = ("eval_", "test_", "predict_")


def vapor_key(key: str) -> str:
    for prefix in SPLITS:
        if key.startswith(prefix):
            return prefix[:-1] + "/" + key[len(prefix) :]
    # The summary Trainer logs at the end (train_loss is the mean over the run, not a step's).
    if key.startswith("train_"):
        return "summary/" + key[len("train_") :]
    if key == "total_flos":
        return "summary/total_flos"
    return "train/" + key


class VaporCallback(TrainerCallback):
    def __init__(
        self,
        name: Optional[str] = None,
        config: Optional[Dict[str, Any]] = None,
        tags: Optional[List[str]] = None,
        *,
        run: Optional[Run] = None,
        **init_options: Any,
    ):
        self.run = run
        self._options = {"name": name, "config": config, "tags": tags, **init_options}

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        config: Dict[str, Any] = dict(args.to_sanitized_dict())
        model_config = getattr(model, "config", None)
        if model_config is not None and hasattr(model_config, "to_dict"):
            config["model"] = model_config.to_dict()
        config.update(self._options.get("config") or {})
        if self.run is None:
            options = {**self._options, "config": config}
            options["name"] = options.get("name") or args.run_name or "transformers"
            options.setdefault("total_steps", state.max_steps or None)
            self.run = start_run(None, **options)
        else:
            self.run.config.update(config)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.run is None or not state.is_world_process_zero or not logs:
            return
        values = numeric({vapor_key(key): value for key, value in logs.items() if key != "epoch"})
        safe_log(self.run, values, max(1, int(state.global_step)))

    def on_train_end(self, args, state, control, **kwargs):
        if self.run is not None and state.is_world_process_zero:
            self.run.finish()
