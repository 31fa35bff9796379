"""Load a pickle of numpy arrays without letting it run code.

The squeezenet weights ship as a pickle; a plain `pickle.load` would execute any
callable the file names. This unpickler resolves only what rebuilding numpy arrays
needs and refuses every other global.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import DreamwallError

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): np._core.multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): np._core.multiarray.scalar,
}


class RefusedGlobal(DreamwallError):
    """The pickle names something other than numpy array reconstruction."""


class NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                f"refusing to load '{module}.{name}' from a weights pickle: "
                "only numpy arrays are allowed"
            ) from None


def load_numpy_pickle(path: Path) -> Any:
    """Unpickle `path`, allowing numpy arrays, dicts, lists and plain values only."""
    data = path.read_bytes()
    return NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
