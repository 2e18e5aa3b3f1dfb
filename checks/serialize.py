"""JSON encoding of counterexamples and evidence: arrays round-trip exactly (float repr is exact)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def encode(obj: Any) -> Any:
    """Make ``obj`` JSON-able. numpy arrays become ``{"__ndarray__": [...], "dtype": ...}``."""
    if isinstance(obj, np.ndarray):
        if np.iscomplexobj(obj):
            return {"__ndarray__": encode(obj.real), "imag": encode(obj.imag), "dtype": str(obj.dtype)}
        return {"__ndarray__": [encode(x) for x in obj.tolist()] if obj.ndim else encode(obj.item()),
                "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor
        return encode(obj.detach().cpu().numpy())
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if hasattr(obj, "value") and hasattr(obj, "name"):  # enum
        return obj.value
    return obj


def decode(obj: Any) -> Any:
    """Inverse of :func:`encode` for arrays and special floats. Idempotent: already-decoded data
    (arrays, floats) passes through unchanged, so a replay may decode what it is given."""
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            arr = np.array(decode(obj["__ndarray__"]), dtype=obj["dtype"].replace("complex", "float")
                           if "imag" in obj else obj["dtype"])
            if "shape" in obj:
                arr = arr.reshape(obj["shape"])
            if "imag" in obj:
                arr = arr + 1j * np.array(decode(obj["imag"]))
            return arr
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if isinstance(obj, str) and obj in ("nan", "inf", "-inf"):
        return float(obj)
    return obj


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, fixed indentation, so equal data gives equal bytes."""
    return json.dumps(encode(obj), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
