"""Ctrl-C: a long run with the GIL released stops between batches and raises KeyboardInterrupt
(the binding's poll re-attaches the GIL between the library's batches and runs Python's signal
handlers). `_thread.interrupt_main()` from a timer thread is Ctrl-C as Python sees it."""

import _thread
import threading
import time

import numpy as np
import pytest

import ceteris


def _interrupted(run, after=0.5):
    """Runs `run()` with a Ctrl-C `after` seconds in: the seconds from the interrupt to the
    KeyboardInterrupt."""
    timer = threading.Timer(after, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
            # a run that ends before the interrupt: wait for it so that it is not raised later
            time.sleep(after + 5)
    finally:
        timer.cancel()
    return time.perf_counter() - t0 - after


def _timed(run):
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def test_ctrl_c_stops_a_long_bootstrap():
    x = np.random.default_rng(0).normal(size=20_000)
    seen = []

    def boot(b, progress=None):
        return lambda: ceteris.bootstrap(x, "mean", n_resamples=b, seed=0, backend="cpu",
                                         method="percentile", progress=progress)

    # the full run would take about 100 times a 1/100 run
    full = 100 * _timed(boot(20_000))
    waited = _interrupted(boot(2_000_000, progress=lambda done, total: seen.append(done)))
    # it stopped at the next slice (1/128 of the run): most replicates were never drawn, and
    # well before the run's end even on a loaded machine
    assert max(seen) < 2_000_000 // 2, (max(seen), waited, full)
    assert waited < full / 4, (waited, full)
    # the interpreter works on after the interrupt, and the same call runs to the end
    assert ceteris.bootstrap(x, "mean", n_resamples=999, seed=0, backend="cpu").n_resamples == 999


def test_ctrl_c_stops_a_long_batch_of_tests():
    rng = np.random.default_rng(1)
    data = {f"v{i}": rng.normal(size=400) for i in range(6)}
    queries = [(f"v{i}", f"v{j}") for i in range(6) for j in range(6) if i != j] * 4

    def batch(qs):
        return lambda: ceteris.independence_batch(data, qs, test="kci", null="permutation",
                                                  permutations=2000, seed=0, backend="cpu")

    one = _timed(batch(queries[:4])) / 4
    full = one * len(queries)
    waited = _interrupted(batch(queries), after=min(0.5, full / 4))
    assert waited < full / 2, (waited, full)


def test_cancelled_is_keyboard_interrupt_not_an_error():
    # the library's Error::Cancelled is not a CeterisError: `except ValueError` does not eat it
    assert not issubclass(KeyboardInterrupt, ceteris.CeterisError)


def test_ctrl_c_stops_a_callable_bootstrap():
    x = np.random.default_rng(2).normal(size=200)
    calls = []

    def stat(s):
        calls.append(1)
        return float(np.mean(s))

    def boot(b):
        return lambda: ceteris.bootstrap((x,), stat, n_resamples=b, seed=0,
                                         method="percentile")

    full = 50 * _timed(boot(2_000))
    calls.clear()
    waited = _interrupted(boot(100_000), after=min(0.5, full / 8))
    assert len(calls) < 100_000 // 2, (len(calls), waited, full)
    assert waited < full / 4, (waited, full)
