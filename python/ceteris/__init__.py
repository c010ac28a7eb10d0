"""ceteris: fast causal inference — bootstrap, kernel independence tests, causal discovery and
structural causal models — on the CPU (rayon, f64) or the GPU (wgpu, f32), from Python.

>>> import numpy as np, ceteris
>>> x = np.random.default_rng(0).normal(size=500)
>>> r = ceteris.bootstrap(x, "mean", n_resamples=999, seed=0)
>>> bool(r.confidence_interval.low < x.mean() < r.confidence_interval.high)
True

Errors are :class:`CeterisError` (a ``ValueError``) or one of its subclasses
:class:`UnknownColumnError`, :class:`ParameterError` and :class:`GpuError`, with the library's
message (the CLI's). Ctrl-C stops a long run between batches (KeyboardInterrupt).
:mod:`ceteris.distributed` runs the bootstrap, batches of tests and sweeps as Ray tasks.
"""

from ._core import CeterisError, GpuError, ParameterError, UnknownColumnError, __version__
from ._bootstrap import BootstrapResult, ConfidenceInterval, bootstrap
from ._independence import (TestResult, chisq, dg, fisherz, gsq, hsic, hsic_u, independence_batch,
                            kci, rcit, rcot)
from ._discovery import DiscoveryResult, discover
from ._scm import Effect, Scm
from ._core import describe_backend
from . import causallearn, distributed, dowhy

__all__ = [
    "__version__",
    "CeterisError", "UnknownColumnError", "ParameterError", "GpuError",
    "bootstrap", "BootstrapResult", "ConfidenceInterval",
    "kci", "hsic", "hsic_u", "rcot", "rcit", "fisherz", "chisq", "gsq", "dg", "independence_batch",
    "TestResult",
    "discover", "DiscoveryResult",
    "Scm", "Effect",
    "describe_backend",
]
