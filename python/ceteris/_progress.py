"""``progress=``: a tqdm bar fed by the library's ``(done, total)`` callback."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional


class _Bar:
    """A ``(done, total)`` callback driving one tqdm bar; ``close()`` when the call ends."""

    def __init__(self, desc: str) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._desc = desc
        self._bar: Any = None
        self._total = None

    def __call__(self, done: int, total: int, *rest: int) -> None:
        if rest:  # discovery: (level, done, total)
            level, done, total = done, total, rest[0]
            desc = f"{self._desc} (depth {level})"
        else:
            desc = self._desc
        if self._bar is None or total != self._total or desc != self._bar.desc:
            if self._bar is not None:
                self._bar.close()
            self._bar = self._tqdm(total=total, desc=desc, leave=False)
            self._total = total
        self._bar.n = min(done, total)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _Null:
    def close(self) -> None:
        pass


def make(progress: Any, desc: str) -> "tuple[Optional[Callable[..., None]], Any]":
    """The callback to hand to the extension, and an object to ``close()`` afterwards.

    ``progress`` is ``False``/``None`` (no bar), ``True`` (a tqdm bar when tqdm is installed,
    else a warning and no bar) or a callable ``f(done, total)``.
    """
    if progress is None or progress is False:
        return None, _Null()
    if progress is True:
        try:
            bar = _Bar(desc)
        except ImportError:
            warnings.warn("progress=True needs tqdm (pip install tqdm); no progress bar shown",
                          stacklevel=3)
            return None, _Null()
        return bar, bar
    if callable(progress):
        return progress, _Null()
    raise TypeError("progress must be True, False or a callable f(done, total)")
