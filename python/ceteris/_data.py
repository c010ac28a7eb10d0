"""Tables for the extension module: numpy arrays, dicts of arrays and pandas DataFrames turned
into column names plus contiguous float64 columns, with the CLI's rules for CSV files:

* numeric columns (numpy or pandas, nullable ``Int64``/``Float64`` included) become float64;
* booleans become 0 (``False``) and 1 (``True``);
* label columns (treatment, strata, cluster, domain: the roles a call names) may hold text or
  categories, factorised to the codes ``0, 1, ...`` of their distinct values in sorted order, the
  mapping reported as ``levels``; text in any other column is an error naming the column and row;
* a missing value (``None``, ``NaN``, ``pd.NA``, ``NaT``) in a used column is an error naming the
  column and the row, unless ``dropna=True``, which drops the rows with a missing value in a used
  column and reports how many (``rows_dropped``).

A float64 numpy column that is already C-contiguous is passed as it is (the extension reads it in
place); any other is converted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from ._core import CeterisError, UnknownColumnError

__all__ = ["Table", "to_table", "is_dataframe"]


def is_dataframe(obj: Any) -> bool:
    """Whether ``obj`` is a pandas DataFrame (without importing pandas when it is absent)."""
    t = type(obj)
    return t.__name__ == "DataFrame" and t.__module__.startswith("pandas")


def _is_series(obj: Any) -> bool:
    t = type(obj)
    return t.__name__ == "Series" and t.__module__.startswith("pandas")


@dataclass
class Table:
    """Column names and float64 columns, ready for the extension module."""

    names: List[str]
    columns: List[np.ndarray]
    levels: Dict[str, List[str]] = field(default_factory=dict)
    rows_dropped: int = 0
    index: Optional[Any] = None

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def column(self, name: str) -> np.ndarray:
        return self.columns[self.names.index(name)]


def _row_label(index: Optional[Any], row: int) -> str:
    if index is None:
        return f"row {row}"
    label = index[row]
    if isinstance(label, (int, np.integer)) and int(label) == row:
        return f"row {row}"
    return f"row {row} (index {label!r})"


def _missing_mask(values: Any) -> np.ndarray:
    """Missing cells of one column: None, NaN, pd.NA, NaT."""
    if _is_series(values):
        return np.asarray(values.isna().to_numpy(), dtype=bool)
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind in "biu":
        return np.zeros(arr.shape, dtype=bool)
    if arr.dtype.kind == "M" or arr.dtype.kind == "m":
        return np.isnat(arr)
    out = np.zeros(arr.shape, dtype=bool)
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and v != v):
            out[i] = True
        else:
            try:
                import pandas as pd

                out[i] = v is pd.NA or v is pd.NaT
            except ImportError:
                pass
    return out


def _as_float(name: str, values: Any, label: bool, index: Optional[Any]) -> tuple:
    """One column (no missing values left) as float64, and its levels when factorised."""
    if _is_series(values):
        dtype = values.dtype
        kind = getattr(dtype, "kind", "O")
        if str(dtype) == "category":
            values = values.astype(object)
            kind = "O"
        elif str(dtype) in ("boolean", "bool"):
            return values.to_numpy(dtype=np.float64), None
        elif kind in "iuf" or str(dtype) in ("Int8", "Int16", "Int32", "Int64", "UInt8",
                                              "UInt16", "UInt32", "UInt64", "Float32", "Float64"):
            return np.ascontiguousarray(values.to_numpy(dtype=np.float64)), None
        values = values.to_numpy(dtype=object)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise CeterisError(f"column `{name}` is not one-dimensional (shape {arr.shape})")
    if arr.dtype.kind == "b":
        return arr.astype(np.float64), None
    if arr.dtype.kind in "iuf":
        return np.ascontiguousarray(arr, dtype=np.float64), None
    # object or string cells: numbers, booleans, or (label columns only) text
    out = np.empty(len(arr), dtype=np.float64)
    text_rows: List[int] = []
    for i, v in enumerate(arr):
        if isinstance(v, (bool, np.bool_)):
            out[i] = 1.0 if v else 0.0
        elif isinstance(v, (int, float, np.integer, np.floating)):
            out[i] = float(v)
        else:
            text_rows.append(i)
    if not text_rows:
        return out, None
    if not label:
        i = text_rows[0]
        raise CeterisError(
            f"column `{name}`, {_row_label(index, i)}: `{arr[i]}` is not a number (only label "
            "columns, such as a treatment, strata, cluster or domain, may hold text)"
        )
    # a label column with text: every cell (numbers and booleans too) factorised as text,
    # codes of the distinct values in sorted order, as the CLI does
    cells = [str(v) for v in arr]
    levels = sorted(set(cells))
    code = {lv: float(k) for k, lv in enumerate(levels)}
    return np.array([code[c] for c in cells], dtype=np.float64), levels


def frame_columns(data: Any, prefix: str = "x") -> "Dict[str, Any]":
    """The columns of any supported input, by name, in order."""
    if is_dataframe(data):
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise CeterisError(f"duplicate column name `{dup}`")
        return {str(c): data[c] for c in data.columns}
    if _is_series(data):
        return {str(data.name) if data.name is not None else prefix: data}
    if isinstance(data, Mapping):
        return {str(k): v for k, v in data.items()}
    arr = np.asarray(data)
    if arr.ndim == 1:
        return {prefix: arr}
    if arr.ndim == 2:
        if arr.shape[1] == 1:
            return {prefix: arr[:, 0]}
        return {f"{prefix}{j}": arr[:, j] for j in range(arr.shape[1])}
    raise CeterisError(f"data must be one- or two-dimensional (shape {arr.shape})")


def to_table(
    data: Any,
    *,
    used: Optional[Iterable[str]] = None,
    labels: Sequence[str] = (),
    dropna: bool = False,
    keep_missing: bool = False,
    prefix: str = "x",
) -> Table:
    """Reads ``data`` (array, dict of arrays, Series or DataFrame) into a :class:`Table`.

    ``used``: the columns to read, in order (all when ``None``); a name that is not a column is
    :class:`ceteris.UnknownColumnError`. ``labels``: the columns that may hold text (factorised).
    ``keep_missing``: missing values stay NaN (test-wise deletion) instead of an error or a drop.

    >>> import numpy as np
    >>> t = to_table({"y": np.array([1.0, 2.0]), "arm": np.array(["b", "a"], dtype=object)},
    ...              labels=["arm"])
    >>> t.names, t.column("arm").tolist(), t.levels["arm"]
    (['y', 'arm'], [1.0, 0.0], ['a', 'b'])
    """
    cols = frame_columns(data, prefix)
    index = getattr(data, "index", None) if is_dataframe(data) or _is_series(data) else None
    if used is None:
        wanted = list(cols)
    else:
        wanted = []
        for n in used:
            if n is not None and n not in wanted:
                wanted.append(n)
        for n in wanted:
            if n not in cols:
                raise UnknownColumnError(
                    f"unknown column `{n}` (available: {', '.join(cols)})"
                )
    if not wanted:
        raise CeterisError("empty data: no columns")
    lengths = {n: len(cols[n]) for n in wanted}
    first = wanted[0]
    for n in wanted:
        if lengths[n] != lengths[first]:
            raise CeterisError(
                f"length mismatch: `{first}` has {lengths[first]} rows but `{n}` has {lengths[n]}"
            )
    n_rows = lengths[first]
    masks = {n: _missing_mask(cols[n]) for n in wanted}
    any_missing = np.zeros(n_rows, dtype=bool)
    for n in wanted:
        any_missing |= masks[n]
    keep = None
    rows_dropped = 0
    if any_missing.any() and not keep_missing:
        if not dropna:
            row = int(np.argmax(any_missing))
            name = next(n for n in wanted if masks[n][row])
            raise CeterisError(
                f"column `{name}`, {_row_label(index, row)}: missing value (pass dropna=True to "
                "drop the rows with a missing value in a used column)"
            )
        keep = ~any_missing
        rows_dropped = int(any_missing.sum())
        if rows_dropped == n_rows:
            raise CeterisError("empty data: every row has a missing value in a used column")
    names: List[str] = []
    columns: List[np.ndarray] = []
    levels: Dict[str, List[str]] = {}
    label_set = set(labels)
    for n in wanted:
        v = cols[n]
        m = masks[n]
        if keep is not None:
            v = v[keep] if not _is_series(v) else v[keep]
            m = m[keep]
            idx = None if index is None else index[keep]
        else:
            idx = index
        if m.any():  # keep_missing: NaN where missing, the rest converted
            if _is_series(v):
                v = v.to_numpy(dtype=object)
            v = np.asarray(v, dtype=object).copy()
            v[m] = np.nan
        col, lv = _as_float(n, v, n in label_set, idx)
        if lv is not None:
            levels[n] = lv
        names.append(n)
        columns.append(np.ascontiguousarray(col, dtype=np.float64))
    new_index = None
    if index is not None:
        new_index = index if keep is None else index[keep]
    return Table(names, columns, levels, rows_dropped, new_index)


def check_treatment(table: Table, column: Optional[str]) -> None:
    """A factorised treatment needs two levels (the CLI's rule)."""
    if column is None:
        return
    lv = table.levels.get(column)
    if lv is not None and len(lv) != 2:
        from ._core import ParameterError

        raise ParameterError(
            f"invalid parameter `treatment`: column `{column}` has {len(lv)} levels "
            f"({', '.join(lv)}); a treatment needs two"
        )
