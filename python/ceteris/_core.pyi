"""Type stubs of the extension module ``ceteris._core`` (internal: use the ``ceteris`` API)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class CeterisError(ValueError): ...
class UnknownColumnError(CeterisError): ...
class ParameterError(CeterisError): ...
class GpuError(CeterisError): ...

_Columns = Sequence[npt.NDArray[np.float64]]
_Set = List[Tuple[str, str, float]]
_Progress = Optional[Callable[..., None]]

def describe_backend(backend: str) -> str: ...
def graph_parents(graph: str) -> List[Tuple[str, List[str]]]: ...
_Array = npt.NDArray[np.float64]
# a bootstrap shard: (start, values, std_errors, backend, fallback, fingerprint)
_Shard = Tuple[int, _Array, _Array, str, Optional[str], str]

def bootstrap(
    names: Sequence[str], columns: _Columns, opts: Dict[str, Any], *, backend: str = ...,
    progress: _Progress = ...,
) -> Tuple[str, Optional[_Array]]: ...
def bootstrap_shard(
    names: Sequence[str], columns: _Columns, opts: Dict[str, Any], start: int, end: int, *,
    backend: str = ...,
) -> Tuple[_Array, _Array, str, Optional[str], str]: ...
def bootstrap_combine(
    names: Sequence[str], columns: _Columns, opts: Dict[str, Any], shards: Sequence[_Shard],
) -> Tuple[str, Optional[_Array]]: ...
def bootstrap_weights(
    names: Sequence[str], columns: _Columns, func: Callable[[npt.NDArray[np.float64]], float],
    *, scheme: str = ..., strata: Optional[str] = ..., cluster: Optional[str] = ...,
    block_length: Optional[float] = ..., n_resamples: int = ..., level: float = ...,
    methods: Sequence[str] = ..., seed: int = ..., keep_replicates: bool = ...,
) -> Tuple[str, Optional[npt.NDArray[np.float64]]]: ...
def independence(
    names: Sequence[str], columns: _Columns,
    queries: Sequence[Tuple[List[str], List[str], List[str]]], opts: Dict[str, Any], *,
    backend: str = ..., progress: _Progress = ..., levels: Dict[str, List[str]] = ...,
) -> List[Union[str, CeterisError]]: ...
def discover(
    names: Sequence[str], columns: _Columns, nodes: Sequence[str], opts: Dict[str, Any], *,
    alpha: float = ..., max_depth: Optional[int] = ..., domain: Optional[str] = ...,
    forbidden: Sequence[Tuple[str, str]] = ..., required: Sequence[Tuple[str, str]] = ...,
    tiers: Sequence[Sequence[str]] = ..., backend: str = ..., progress: _Progress = ...,
    levels: Dict[str, List[str]] = ...,
    algorithm: str = ...,
) -> Tuple[str, List[int], str]: ...
def effect_interval(
    names: Sequence[str], columns: _Columns, graph: str, kind: str, outcome: str,
    alternative: _Set, reference: _Set, *, samples: Optional[int] = ..., scheme: str = ...,
    strata: Optional[str] = ..., cluster: Optional[str] = ...,
    block_length: Optional[float] = ..., n_resamples: int = ..., level: float = ...,
    methods: Sequence[str] = ..., seed: int = ..., keep_replicates: bool = ...,
    backend: str = ..., progress: _Progress = ...,
) -> Tuple[str, Optional[npt.NDArray[np.float64]]]: ...

class _Scm:
    @staticmethod
    def from_json(text: str) -> "_Scm": ...
    @staticmethod
    def fit(names: Sequence[str], columns: _Columns, graph: str, kind: str) -> "_Scm": ...
    def to_json(self) -> str: ...
    def names(self) -> List[str]: ...
    def sweep(
        self, outcome: str, settings: Sequence[_Set], *, samples: int = ...,
        quantiles: Sequence[float] = ..., seed: int = ..., common_random_numbers: bool = ...,
        nodes: Sequence[str] = ..., backend: str = ..., progress: _Progress = ...,
        range: Optional[Tuple[int, int]] = ...,
    ) -> str: ...
    def effect(
        self, alternative: _Set, reference: _Set, outcome: str, *, samples: int = ...,
        seed: int = ..., backend: str = ...,
    ) -> str: ...
    def counterfactuals(
        self, names: Sequence[str], columns: _Columns, set: _Set,
    ) -> Tuple[List[Tuple[str, npt.NDArray[np.float64]]],
               List[Tuple[str, npt.NDArray[np.float64]]]]: ...
