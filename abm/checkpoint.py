"""Checkpoints: the full model state in one versioned file that runs no code when loaded.

Format (``format_version`` 1): one uncompressed ``.npz`` (written with :func:`numpy.savez`)
holding every state array under its name, plus an entry ``__meta__``: the UTF-8 bytes of a JSON
document stored as a ``uint8`` array.  The document holds ``format``, ``format_version``,
``abm_version``, the resolved scenario (``config``, ``config_hash``), ``created``, the model's
JSON metadata (``meta``: times, compartments, RNG states ...), and per array its ``sha256`` (of
the array's bytes) plus ``dtype`` and ``shape``, so damage is detected on load.  Files are read
with ``allow_pickle=False``: no pickle, no code execution.

Typical use::

    path = checkpoint.save(model, "run/ckpt_day3.npz")
    model = checkpoint.restore(path)          # continues bit-identically
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import abm
from abm.config import ConfigError, Scenario, config_hash, to_dict, validate_dict
from abm.engine.files import umask_mode
from abm.model import MSCModel

FORMAT = "msc-abm-checkpoint"
FORMAT_VERSION = 1
META_KEY = "__meta__"
_RESERVED = {META_KEY, "file", "allow_pickle"}  # names np.savez cannot take as array keywords


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


def _digest(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def document(scenario: Scenario, arrays: dict[str, np.ndarray], meta: dict) -> dict[str, Any]:
    """The JSON document stored under ``__meta__`` for a state (arrays, meta) of ``scenario``."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "abm_version": abm.__version__,
        "config": to_dict(scenario),
        "config_hash": config_hash(scenario),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "meta": meta,
        "sha256": {name: _digest(a) for name, a in arrays.items()},
        "arrays": {name: {"dtype": a.dtype.str, "shape": list(a.shape)}
                   for name, a in arrays.items()},
    }


def write_raw(path: str | Path, arrays: dict[str, np.ndarray], doc: dict[str, Any]) -> Path:
    """Atomically write arrays and a document (temp file in the same folder, fsync, replace).

    No check of the document's content: :func:`save` is the normal writer.
    """
    path = Path(path)
    bad = _RESERVED.intersection(arrays)
    if bad:
        raise CheckpointError(f"{path}: array name(s) {sorted(bad)} are reserved")
    obj = [name for name, a in arrays.items() if np.asarray(a).dtype.hasobject]
    if obj:
        raise CheckpointError(f"{path}: object arrays cannot be saved without pickle: {obj}")
    blob = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, umask_mode())
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{META_KEY: blob})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable (POSIX; best effort)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def read_raw(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read arrays and the parsed ``__meta__`` document, checking only the container."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    arrays: dict[str, np.ndarray] = {}
    try:
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{p}: not a checkpoint (a single .npy array, not an .npz)")
        with loaded as npz:
            if META_KEY not in npz.files:
                raise CheckpointError(f"{p}: not a checkpoint (no '{META_KEY}' entry)")
            for name in npz.files:
                try:
                    arrays[name] = npz[name]
                except ValueError as exc:  # object (pickled) array, or a damaged header
                    raise CheckpointError(
                        f"{p}: array {name!r} cannot be read safely: {exc}") from None
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        if p.suffix != ".npz" or "pickle" in str(exc):  # numpy's advice about pickle does not apply here
            raise CheckpointError(f"{p}: not an abm checkpoint (those are .npz files written by `abm run`, "
                                  f"e.g. <run>/checkpoints/msc.npz)") from None
        raise CheckpointError(f"{p}: not a readable .npz checkpoint (damaged or truncated?): "
                              f"{type(exc).__name__}: {exc}") from None
    raw = arrays.pop(META_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{p}: '{META_KEY}' must be a 1-D uint8 array, got {raw.dtype}")
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError(f"{p}: '{META_KEY}' is not UTF-8 JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{p}: '{META_KEY}' must be a JSON object")
    return arrays, doc


def save(model: MSCModel, path: str | Path) -> Path:
    """Write the model's full state and scenario to ``path`` atomically; return the path."""
    arrays, meta = model.state_dict()
    return write_raw(path, arrays, document(model.cfg, arrays, meta))


def load(path: str | Path) -> tuple[Scenario, dict[str, np.ndarray], dict]:
    """Read and verify a checkpoint: (scenario, state arrays, model meta).

    Raises:
        CheckpointError: missing or damaged file, foreign or unsupported format, checksum
            mismatch, or a stored config that no longer validates.
    """
    p = Path(path)
    arrays, doc = read_raw(p)
    if doc.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not an {FORMAT} file (format = {doc.get('format')!r})")
    found = doc.get("format_version")
    if found != FORMAT_VERSION:
        raise CheckpointError(
            f"{p}: checkpoint format version {found!r} is not supported; abm "
            f"{abm.__version__} reads format version {FORMAT_VERSION}")
    sums, specs = doc.get("sha256"), doc.get("arrays")
    if not isinstance(sums, dict) or not isinstance(specs, dict):
        raise CheckpointError(f"{p}: document lacks the per-array 'sha256' or 'arrays' table")
    if set(sums) != set(arrays) or set(specs) != set(arrays):
        raise CheckpointError(f"{p}: stored arrays {sorted(arrays)} do not match the recorded "
                              f"ones {sorted(sums)}")
    for name, arr in arrays.items():
        spec = specs[name]
        if not isinstance(spec, dict) or (arr.dtype.str, list(arr.shape)) != (
                spec.get("dtype"), spec.get("shape")):
            raise CheckpointError(f"{p}: array {name!r} has dtype {arr.dtype.str} shape "
                                  f"{list(arr.shape)}, recorded {spec}")
        if _digest(arr) != sums[name]:
            raise CheckpointError(f"{p}: checksum mismatch in array {name!r} (file is damaged)")
    try:
        scenario = validate_dict(doc.get("config"), origin="stored config")
    except ConfigError as exc:
        raise CheckpointError(f"{p}: the stored config no longer validates: {exc}") from None
    meta = doc.get("meta")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{p}: document lacks the model 'meta' object")
    return scenario, arrays, meta


def restore(path: str | Path) -> MSCModel:
    """A model that continues bit-identically from the checkpoint at ``path``.

    The random-stream states come from the checkpoint, so the seed the model is built with does
    not matter.
    """
    scenario, arrays, meta = load(path)
    model = MSCModel(scenario, rng=0)
    try:
        model.load_state_dict(arrays, meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: state does not fit this model version: "
                              f"{type(exc).__name__}: {exc}") from None
    return model
