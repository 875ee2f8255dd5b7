"""Optional system metrics, sampled in their own thread as system/… keys."""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable, Dict, List

logger = logging.getLogger("vapor")
INTERVAL_SECONDS = 10.0


def _samplers() -> List[Callable[[], Dict[str, float]]]:
    samplers: List[Callable[[], Dict[str, float]]] = []
    try:
        import psutil  # type: ignore

        process = psutil.Process()
        psutil.cpu_percent(None)  # the first call only starts the measurement

        def host() -> Dict[str, float]:
            memory = psutil.virtual_memory()
            return {
                "system/cpu.percent": psutil.cpu_percent(None),
                "system/memory.percent": memory.percent,
                "system/memory.used_gb": memory.used / 1e9,
                "system/process.rss_gb": process.memory_info().rss / 1e9,
            }

        samplers.append(host)
    except ImportError:
        logger.info("Vapor: install psutil for CPU and memory metrics; sending the load average only.")
        if hasattr(os, "getloadavg"):
            samplers.append(lambda: {"system/load.1m": os.getloadavg()[0]})
    try:
        import pynvml  # type: ignore

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

        def gpus() -> Dict[str, float]:
            values: Dict[str, float] = {}
            for index, handle in enumerate(handles):
                values[f"system/gpu.{index}.util"] = float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                values[f"system/gpu.{index}.memory_gb"] = pynvml.nvmlDeviceGetMemoryInfo(handle).used / 1e9
            return values

        if handles:
            samplers.append(gpus)
    except Exception:  # no pynvml, no driver, no GPU: nothing to sample
        pass
    return samplers


def start_system_metrics(run, interval: float = INTERVAL_SECONDS) -> threading.Thread:
    samplers = _samplers()

    def loop() -> None:
        while not run._done.wait(interval) and run._final is None:
            values: Dict[str, float] = {}
            for sample in samplers:
                try:
                    values.update(sample())
                except Exception as error:  # a sampler failing must not stop the others
                    logger.debug("Vapor: a system metric failed: %s", error)
            if values:
                run._log_system(values)

    thread = threading.Thread(target=loop, name="vapor-system-metrics", daemon=True)
    thread.start()
    return thread
