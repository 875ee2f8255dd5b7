"""PyTorch Lightning: `Trainer(logger=VaporLogger(name=..., config=...))`.

Metrics go to Vapor at Lightning's global step + 1 (Vapor counts from 1), hyperparameters
(`self.save_hyperparameters()`) into the job's config, and the job is completed when fit
ends, failed when it raises.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from typing import Any, Dict, List, Optional, Union

try:
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the older package name
    from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment  # type: ignore
    from pytorch_lightning.utilities import rank_zero_only  # type: ignore

from vapor import Run

from ._common import numeric, safe_log, start_run

__all__ = ["VaporLogger"]


class VaporLogger(Logger):
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
        self._run = run
        self._options = {"name": name, "config": config, "tags": tags, **init_options}

    @property
    @rank_zero_experiment
    def experiment(self) -> Run:
        if self._run is None:
            self._run = start_run(None, **self._options)
        return self._run

    @property
    def name(self) -> str:
        return self._options.get("name") or "vapor"

    @property
    def version(self) -> Union[int, str]:
        return (self._run.id if self._run is not None else None) or "0"

    @rank_zero_only
    def log_hyperparams(self, params: Union[Dict[str, Any], Namespace], *args: Any, **kwargs: Any) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params or {})
        if values:
            self.experiment.config.update(values)

    @rank_zero_only
    def log_metrics(self, metrics: Dict[str, Any], step: Optional[int] = None) -> None:
        values = numeric({key: value for key, value in metrics.items() if key != "epoch"})
        safe_log(self.experiment, values, None if step is None else int(step) + 1)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is None:
            return
        if status == "success":
            self._run.finish()
        elif status == "failed":
            # Lightning calls this while it handles the exception: name it on the job's page.
            error = sys.exc_info()[1]
            self._run.fail(f"{type(error).__name__}: {error}" if error else "the Lightning run failed")
