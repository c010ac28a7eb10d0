"""DoWhy drop-in: independence tests with DoWhy gcm's signature ``test(X, Y, Z=None) -> p``.

Pass them where DoWhy takes ``independence_test`` / ``conditional_independence_test``
(``gcm.falsify_graph``, ``gcm.validate_lmc``, ``gcm.refute_causal_structure``, ...). They are
module-level functions, so they pickle by reference for DoWhy's joblib workers; bind options with
``functools.partial(ceteris.dowhy.kci, backend="cpu")``.

Arrays: 1-D is one variable, 2-D one column per variable; more dimensions are a
:class:`ceteris.ParameterError`. As DoWhy's ``kernel_based``, a constant ``X`` or ``Y`` gives
``p = 1.0``. Tests with a random element (``rcit``, ``rcot``) draw their seed from ``np.random``
unless ``seed=`` is given (DoWhy seeds ``np.random`` before each test). Under joblib's process
workers each worker runs ceteris' own thread pool: pass ``n_jobs=1`` to DoWhy (ceteris
parallelises each test itself) or set ``RAYON_NUM_THREADS`` to avoid oversubscription.

>>> import numpy as np, ceteris.dowhy as cd
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(size=400); x = z + rng.normal(size=400); y = z + rng.normal(size=400)
>>> cd.kci(x, y) < 0.01, cd.kci(x, y, z) > 0.01
(True, True)
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._core import ParameterError
from ._independence import _one

__all__ = ["kci", "hsic", "rcit", "rcot", "fisherz"]

_SEEDED = ("rcit", "rcot")


def _block(v: Any, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    if a.ndim != 2:
        raise ParameterError(f"invalid parameter `{name}`: a 1-D or 2-D array, not {a.ndim}-D")
    return a


def _run(test: str, X: Any, Y: Any, Z: Optional[Any], backend: str, options: Any) -> float:
    x, y = _block(X, "X"), _block(Y, "Y")
    z = None if Z is None else _block(Z, "Z")
    if z is not None and z.shape[1] == 0:
        z = None
    if np.all(x == x[:1]) or np.all(y == y[:1]):
        return 1.0  # as DoWhy's kernel_based: a constant is independent of anything
    if test in _SEEDED and "seed" not in options:
        options = {**options, "seed": int(np.random.randint(0, 2**31 - 1))}
    return float(_one(test, x, y, z, None, backend, False, options).pvalue)


def kci(X: Any, Y: Any, Z: Optional[Any] = None, *, backend: str = "auto",
        **options: Any) -> float:
    """KCI (HSIC when ``Z`` is None) p-value, as DoWhy's ``kernel_based`` (which wraps
    causal-learn's KCI) without its subsampling. Options as :func:`ceteris.kci`."""
    return _run("kci", X, Y, Z, backend, options)


def hsic(X: Any, Y: Any, Z: Optional[Any] = None, *, backend: str = "auto",
         **options: Any) -> float:
    """HSIC (KCI with ``Z``) p-value. Options as :func:`ceteris.hsic`."""
    return _run("hsic", X, Y, Z, backend, options)


def rcit(X: Any, Y: Any, Z: Optional[Any] = None, *, backend: str = "auto",
         **options: Any) -> float:
    """RCIT (RIT without ``Z``) p-value, DoWhy's ``approx_kernel_based`` idea with random Fourier
    features. Options as :func:`ceteris.rcit`."""
    return _run("rcit", X, Y, Z, backend, options)


def rcot(X: Any, Y: Any, Z: Optional[Any] = None, *, backend: str = "auto",
         **options: Any) -> float:
    """RCoT p-value. Options as :func:`ceteris.rcot`."""
    return _run("rcot", X, Y, Z, backend, options)


def fisherz(X: Any, Y: Any, Z: Optional[Any] = None, *, backend: str = "auto",
            **options: Any) -> float:
    """Fisher's z (partial correlation) p-value; one X and one Y column. Options as
    :func:`ceteris.fisherz`."""
    return _run("fisherz", X, Y, Z, backend, options)
