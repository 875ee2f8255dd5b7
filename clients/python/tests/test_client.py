"""The client's own behaviour against a real local HTTP server that answers like Vapor.

Run: python3 -m unittest discover -s clients/python/tests   (standard library only)
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
sys.path.insert(0, PACKAGE_ROOT)
sys.path.insert(0, HERE)

import vapor  # noqa: E402
from fake_vapor import FakeVapor  # noqa: E402

TOKEN = "vpr_test"


def init(fake: FakeVapor, **options) -> vapor.Run:
    options.setdefault("flush_timeout", 10)
    options.setdefault("batch_seconds", 0.05)
    return vapor.init(name=options.pop("name", "test run"), url=fake.url, token=TOKEN, **options)


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeVapor()

    def tearDown(self):
        for live in vapor._run.live_runs():
            live.finish(timeout=0.1)
        self.fake.stop()

    def test_logs_named_metrics_in_batches_and_finishes(self):
        run = init(self.fake, config={"lr": 3e-4, "model": {"layers": 2}}, tags=["baseline"])
        for step in range(1, 2001):
            run.log({"train/loss": 1 / step, "lr": 3e-4})
            if step % 100 == 0:
                run.log({"val/loss": 2 / step}, step=step)
        self.assertTrue(run.finish())
        values = self.fake.values()
        self.assertEqual(list(values), list(range(1, 2001)))
        self.assertEqual(values[100], {"train/loss": 0.01, "lr": 3e-4, "val/loss": 0.02})
        job = self.fake.jobs["job-1"]
        self.assertEqual(job["config"], {"lr": 3e-4, "model": {"layers": 2}})
        self.assertEqual(job["tags"], ["baseline"])
        self.assertEqual(job["status"], "completed")
        batches = self.fake.paths("/metrics")
        self.assertLess(len(batches), 2000 / 10, "values go in batches, not one request per log()")
        self.assertTrue(all(sum(len(row["metrics"]) for row in batch) <= 10_000 for batch in batches))
        self.assertTrue(all(row["recordedAt"].endswith("Z") for batch in batches for row in batch))

    def test_a_pause_does_not_hold_points_back(self):
        run = init(self.fake, batch_seconds=0.5)
        run.log({"train/loss": 0.5})
        # Nothing else is logged: the timer alone sends it.
        self.fake.wait_for(lambda: self.fake.values() == {1: {"train/loss": 0.5}}, timeout=5)

    def test_bad_values_raise_at_the_call_with_key_and_step_and_hold_nothing_back(self):
        run = init(self.fake)
        run.log({"train/loss": 0.9, "train/accuracy": 0.5})
        with self.assertRaisesRegex(vapor.BadValue, r"'train/accuracy' at step 2: 93 is not a fraction"):
            run.log({"train/loss": 0.8, "train/accuracy": 93})
        with self.assertRaisesRegex(vapor.BadValue, r"'note' at step 3: 'hello' is not a number"):
            run.log({"train/loss": 0.7, "note": "hello"})
        with self.assertRaisesRegex(vapor.BadValue, r"metric key 'loss\?' may only hold"):
            run.log({"loss?": 1.0}, step=4)
        with self.assertRaisesRegex(vapor.BadValue, r"'train/loss' at step 3: step does not come after its last step 3"):
            run.log({"train/loss": 0.1}, step=3)
        with self.assertRaisesRegex(vapor.BadValue, r"step 0 must be between 1"):
            run.log({"x": 1.0}, step=0)
        with self.assertRaisesRegex(vapor.BadValue, r"True is not a number"):
            run.log({"flag": True}, step=5)
        for step in range(6, 11):
            run.log({"train/loss": 1 / step}, step=step)
        run.log({"diverged": float("nan"), "up": float("inf"), "down": float("-inf")}, step=11)
        run.finish()
        values = self.fake.values()
        self.assertEqual(values[2], {"train/loss": 0.8})
        self.assertEqual(values[3], {"train/loss": 0.7})
        self.assertEqual(sorted(values), [1, 2, 3, 6, 7, 8, 9, 10, 11])
        self.assertEqual(values[11], {"diverged": "NaN", "up": "Infinity", "down": "-Infinity"})
        self.assertEqual(self.fake.jobs["job-1"]["status"], "completed")

    def test_an_outage_never_blocks_log_and_everything_arrives_once_after_it(self):
        run = init(self.fake)
        run.log({"train/loss": 1.0})
        self.fake.wait_for(lambda: len(self.fake.values()) == 1)
        self.fake.stop()
        slowest = 0.0
        with self.assertLogs("vapor", logging.WARNING) as said:
            for step in range(2, 3002):
                started = time.perf_counter()
                run.log({"train/loss": 1 / step, "lr": 0.1})
                slowest = max(slowest, time.perf_counter() - started)
            # The sender has met the outage; training went on.
            deadline = time.monotonic() + 10
            while run._failures == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
        self.assertGreater(run._failures, 0)
        self.assertTrue(any("buffering and retrying" in line for line in said.output))
        # A request to a stopped server is refused at once, but log() never even waits for that.
        self.assertLess(slowest, 0.5)
        self.fake.start()
        self.assertTrue(run.finish(timeout=30))
        self.assertEqual(list(self.fake.values()), list(range(1, 3002)))
        self.assertEqual(self.fake.jobs["job-1"]["status"], "completed")
        self.assertEqual(run.dropped_values, 0)

    def test_a_full_buffer_drops_the_oldest_counts_them_and_says_so_once(self):
        self.fake.stop()
        with self.assertLogs("vapor", logging.WARNING) as said:
            run = init(self.fake, max_buffered_values=100)
            for step in range(1, 301):
                run.log({"a": 1.0, "b": 2.0}, step=step)
        self.assertEqual(run.dropped_values, 500)
        self.assertEqual(sum("buffer is full" in line for line in said.output), 1)
        self.fake.start()
        with self.assertLogs("vapor", logging.WARNING) as summary:
            self.assertTrue(run.finish(timeout=30))
        self.assertTrue(any("500 values were dropped" in line for line in summary.output))
        # The job was created once Vapor answered, and holds the newest 50 steps.
        self.assertEqual(list(self.fake.values()), list(range(251, 301)))

    def test_one_refused_row_is_found_and_dropped_the_rest_of_its_batch_goes(self):
        def refuse_step_7(method, path, body):
            if path.endswith("/metrics") and any(row["step"] == 7 for row in body):
                return 409, {"error": "Step 7 of \"x\" is already stored with another value."}
            return None

        self.fake.intercept = refuse_step_7
        run = init(self.fake, batch_seconds=5)
        with self.assertLogs("vapor", logging.WARNING) as said:
            for step in range(1, 21):
                run.log({"x": float(step)})
            run.finish()
        self.assertEqual(list(self.fake.values()), [s for s in range(1, 21) if s != 7])
        self.assertEqual(run.refused_values, 1)
        self.assertTrue(any("Step 7" in line for line in said.output))

    def test_strict_raises_a_refusal_at_the_next_call(self):
        self.fake.intercept = lambda m, p, b: (400, {"error": "refused for the test"}) if p.endswith("/metrics") else None
        run = init(self.fake, strict=True)
        run.log({"x": 1.0})
        self.fake.wait_for(lambda: run._error is not None)
        with self.assertRaisesRegex(vapor.VaporError, "refused for the test"):
            run.log({"x": 2.0})

    def test_a_bad_token_raises_at_init_before_training(self):
        with self.assertRaisesRegex(vapor.VaporError, "401: That token is not valid"):
            vapor.init(name="x", url=self.fake.url, token="vpr_wrong")

    def test_config_update_and_heartbeats(self):
        run = init(self.fake, config={"lr": 0.1}, heartbeat_seconds=0.2)
        run.config.update({"epochs": 3})
        run.config["seed"] = 7
        self.fake.wait_for(lambda: self.fake.jobs["job-1"]["config"] == {"lr": 0.1, "epochs": 3, "seed": 7})
        self.assertEqual(dict(run.config), {"lr": 0.1, "epochs": 3, "seed": 7})
        # Idle: heartbeats keep the job alive.
        self.fake.wait_for(lambda: len(self.fake.paths("/heartbeat")) >= 2, timeout=5)

    def test_module_functions_and_the_context_manager(self):
        with self.assertRaises(ZeroDivisionError):
            with init(self.fake) as run:
                vapor.log({"train/loss": 0.5})
                1 / 0
        self.assertIs(vapor.run, run)
        job = self.fake.jobs["job-1"]
        self.assertEqual(job["status"], "failed")
        self.assertEqual(job["error"], "ZeroDivisionError: division by zero")

        init(self.fake, name="second")
        vapor.log({"train/loss": 0.25})
        vapor.finish()
        self.assertEqual(self.fake.jobs["job-2"]["status"], "completed")
        self.assertEqual(self.fake.values("job-2"), {1: {"train/loss": 0.25}})

    def test_system_metrics_in_their_own_keys(self):
        from vapor import _system

        run = init(self.fake)
        run.log({"train/loss": 1.0})
        _system.start_system_metrics(run, interval=0.1)
        self.fake.wait_for(lambda: any(k.startswith("system/") for v in self.fake.values().values() for k in v))
        run.log({"train/loss": 0.5})
        run.finish()
        self.assertEqual([s for s, v in self.fake.values().items() if "train/loss" in v], [1, 2])


class ExitTest(unittest.TestCase):
    """A real interpreter exiting: atexit, an uncaught exception, SIGTERM, an outage at exit."""

    def setUp(self):
        self.fake = FakeVapor()

    def tearDown(self):
        self.fake.stop()

    def script(self, body: str, timeout: float = 60, **env) -> subprocess.CompletedProcess:
        code = f"import sys, time; sys.path.insert(0, {PACKAGE_ROOT!r}); import vapor\n" + textwrap.dedent(body)
        return subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "VAPOR_URL": self.fake.url, "VAPOR_TOKEN": TOKEN, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def test_exit_without_finish_sends_everything_and_completes(self):
        result = self.script(
            """
            vapor.init(name="forgot finish", batch_seconds=10)
            for step in range(1, 501):
                vapor.log({"train/loss": 1 / step})
            """
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(list(self.fake.values()), list(range(1, 501)))
        self.assertEqual(self.fake.jobs["job-1"]["status"], "completed")

    def test_an_uncaught_exception_fails_the_job_with_it(self):
        result = self.script(
            """
            vapor.init(name="crashes")
            vapor.log({"train/loss": 1.0})
            raise RuntimeError("CUDA out of memory")
            """
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("RuntimeError: CUDA out of memory", result.stderr)
        job = self.fake.jobs["job-1"]
        self.assertEqual((job["status"], job["error"]), ("failed", "RuntimeError: CUDA out of memory"))
        self.assertEqual(self.fake.values(), {1: {"train/loss": 1.0}})

    def test_sigterm_flushes_and_fails_the_job(self):
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import sys, time; sys.path.insert(0, {PACKAGE_ROOT!r}); import vapor\n"
                "vapor.init(name='terminated', batch_seconds=30)\n"
                "vapor.log({'train/loss': 0.5})\n"
                "print('ready', flush=True)\n"
                "while True: time.sleep(0.05)\n",
            ],
            env={**os.environ, "VAPOR_URL": self.fake.url, "VAPOR_TOKEN": TOKEN},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.assertEqual(process.stdout.readline().strip(), "ready")
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
        self.assertEqual(process.returncode, -15)
        job = self.fake.jobs["job-1"]
        self.assertEqual((job["status"], job["error"]), ("failed", "the training script was terminated (SIGTERM)"))
        self.assertEqual(self.fake.values(), {1: {"train/loss": 0.5}})

    def test_an_outage_at_exit_waits_a_bounded_time_then_says_what_was_left(self):
        self.fake.stop()
        started = time.monotonic()
        result = self.script(
            """
            vapor.init(name="never reaches Vapor")
            for step in range(1, 101):
                vapor.log({"a": 1.0, "b": 2.0})
            """,
            VAPOR_FLUSH_TIMEOUT_S="1",
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLess(time.monotonic() - started, 20)
        self.assertRegex(result.stderr, r"gave up sending after 1 s: 200 values were not sent")


class LogCostBenchmark(unittest.TestCase):
    """The cost of log() with 10 keys, printed (a figure, not a timed assertion)."""

    def test_log_cost_for_ten_keys(self):
        fake = FakeVapor()
        try:
            run = init(fake, max_buffered_values=10_000_000, max_buffered_bytes=10**10)
            keys = [f"train/metric_{i}" for i in range(10)]
            timings = []
            for step in range(1, 20_001):
                values = {key: 0.5 for key in keys}
                started = time.perf_counter_ns()
                run.log(values)
                timings.append(time.perf_counter_ns() - started)
            median_us = statistics.median(timings) / 1000
            p99_us = sorted(timings)[int(len(timings) * 0.99)] / 1000
            print(f"\nvapor log() with 10 keys: median {median_us:.1f} µs, p99 {p99_us:.1f} µs over {len(timings):,} calls")
            self.assertEqual(run.step, 20_000)
            run.finish(timeout=30)
            self.assertEqual(len(fake.values()), 20_000)
        finally:
            fake.stop()


if __name__ == "__main__":
    unittest.main()
