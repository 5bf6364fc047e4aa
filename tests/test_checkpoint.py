"""Checkpoints: bit-identical resume, no perturbation, versioning, damage detection, atomicity."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from abm import checkpoint
from abm.checkpoint import CheckpointError
from abm.config import Treatment, config_hash, validate_dict
from abm.model import MSCModel

BURN_IN_STEPS = 24  # 2 days at dt_h = 2
# local route so that MSC reach the small tissue patch; the second infusion falls after the save
ARM = Treatment.model_validate({"route": "local", "schedule": {"days": [0.0, 1.0]}})


@pytest.fixture(scope="module")
def scenario():
    s = validate_dict({"tissue": {"width_voxels": 24, "height_voxels": 24},
                       "simulation": {"burn_in_days": 2, "days": 4}})
    assert s.simulation.dt_h == 2.0  # BURN_IN_STEPS relies on it
    return s


def advance(model: MSCModel, n: int) -> MSCModel:
    """Step ``n`` times, switching to ``ARM`` at the end of burn-in (as a branch point does)."""
    for _ in range(n):
        if model.steps == BURN_IN_STEPS and model.arm != ARM:
            model.set_arm(ARM)
        model.step()
    return model


def assert_same_state(a: MSCModel, b: MSCModel) -> None:
    (arr_a, meta_a), (arr_b, meta_b) = a.state_dict(), b.state_dict()
    assert sorted(arr_a) == sorted(arr_b)
    for name in arr_a:
        assert arr_a[name].dtype == arr_b[name].dtype, name
        assert np.array_equal(arr_a[name], arr_b[name]), f"array {name!r} differs"
    assert json.dumps(meta_a, sort_keys=True) == json.dumps(meta_b, sort_keys=True)


def saved(scenario, tmp_path: Path, steps: int = 5) -> Path:
    return checkpoint.save(advance(MSCModel(scenario, rng=7), steps), tmp_path / "ck.npz")


# --------------------------------------------------------------------------- resume
@pytest.mark.parametrize(("k_before", "k_after"), [(8, 8), (BURN_IN_STEPS + 6, 14)],
                         ids=["burn-in", "mid-treatment"])
def test_resume_is_bit_identical_and_save_does_not_perturb(scenario, tmp_path, k_before, k_after):
    a = advance(MSCModel(scenario, rng=123), k_before)
    path = checkpoint.save(a, tmp_path / "ck.npz")
    b = checkpoint.restore(path)  # built with seed 0: the streams must come from the file
    assert_same_state(a, b)  # identical right after restore

    advance(a, k_after)
    advance(b, k_after)
    assert_same_state(a, b)  # and after continuing

    c = advance(MSCModel(scenario, rng=123), k_before + k_after)  # same run, never saved
    assert_same_state(a, c)

    if k_before > BURN_IN_STEPS:  # the interesting state is really exercised
        assert b.msc.n > 0 and b._given == 2 and b.arm == ARM


def test_load_returns_scenario_arrays_meta(scenario, tmp_path):
    model = advance(MSCModel(scenario, rng=1), 3)
    s, arrays, meta = checkpoint.load(checkpoint.save(model, tmp_path / "ck.npz"))
    assert config_hash(s) == config_hash(scenario)
    ref_arrays, ref_meta = model.state_dict()
    assert sorted(arrays) == sorted(ref_arrays)
    assert meta["steps"] == ref_meta["steps"] == 3
    _, doc = checkpoint.read_raw(tmp_path / "ck.npz")
    assert doc["format"] == "msc-abm-checkpoint" and doc["format_version"] == 1
    assert doc["config_hash"] == config_hash(scenario)
    assert set(doc["sha256"]) == set(ref_arrays)


# --------------------------------------------------------------------------- versioning
def test_version_mismatch_names_both_versions(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    arrays, doc = checkpoint.read_raw(path)
    doc["format_version"] = 999
    checkpoint.write_raw(path, arrays, doc)
    with pytest.raises(CheckpointError, match=r"version 999 .*reads format version 1"):
        checkpoint.load(path)


def test_foreign_format_refused(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    arrays, doc = checkpoint.read_raw(path)
    doc["format"] = "something-else"
    checkpoint.write_raw(path, arrays, doc)
    with pytest.raises(CheckpointError, match="something-else"):
        checkpoint.load(path)


def test_config_that_no_longer_validates(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    arrays, doc = checkpoint.read_raw(path)
    doc["config"]["tissue"]["width_voxels"] = -3
    checkpoint.write_raw(path, arrays, doc)
    with pytest.raises(CheckpointError, match=r"(?s)no longer validates.*tissue\.width_voxels"):
        checkpoint.load(path)


# --------------------------------------------------------------------------- damage
def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoint.load(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError):
        checkpoint.restore(tmp_path / "nope.npz")


def test_truncated_file(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 10):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="damaged or truncated"):
            checkpoint.load(path)


def test_flipped_bytes_in_array_data(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("fields.npy")
    raw = bytearray(path.read_bytes())
    # the local header is 30 bytes + name + extra; flip the last data byte of the member
    name_len, extra_len = (int.from_bytes(raw[info.header_offset + o: info.header_offset + o + 2],
                                          "little") for o in (26, 28))
    end = info.header_offset + 30 + name_len + extra_len + info.compress_size
    raw[end - 1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="fields"):  # zip CRC or our sha256
        checkpoint.load(path)


def test_checksum_mismatch_names_the_array(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    arrays, doc = checkpoint.read_raw(path)  # re-pack a changed array with the old checksums
    arrays["tcells.state"] = arrays["tcells.state"].copy()
    arrays["tcells.state"][0] ^= 1
    checkpoint.write_raw(path, arrays, doc)
    with pytest.raises(CheckpointError, match=r"checksum mismatch in array 'tcells.state'"):
        checkpoint.load(path)


def test_changed_dtype_refused(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    arrays, doc = checkpoint.read_raw(path)
    arrays["fields"] = arrays["fields"].view(np.int64)  # same bytes, same sha256
    checkpoint.write_raw(path, arrays, doc)
    with pytest.raises(CheckpointError, match="'fields' has dtype <i8"):
        checkpoint.load(path)


def test_pickle_content_refused(scenario, tmp_path):
    path = saved(scenario, tmp_path)
    arrays, doc = checkpoint.read_raw(path)
    meta = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    np.savez(path, **arrays, evil=np.array([{"x": 1}], dtype=object), __meta__=meta)
    with pytest.raises(CheckpointError, match=r"'evil' cannot be read safely"):
        checkpoint.load(path)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(CheckpointError, match="not an abm checkpoint") as info:
        checkpoint.load(plain)
    assert "allow_pickle" not in str(info.value)  # numpy's advice to load it with pickle is not repeated
    with pytest.raises(CheckpointError, match="without pickle"):
        checkpoint.write_raw(tmp_path / "x.npz", {"evil": np.array([None], dtype=object)}, doc)


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "t.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not an abm checkpoint|damaged or truncated"):
        checkpoint.load(text)
    zipped = tmp_path / "z.npz"
    zipped.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        checkpoint.load(zipped)
    no_meta = tmp_path / "m.npz"
    np.savez(no_meta, x=np.zeros(3))
    with pytest.raises(CheckpointError, match="__meta__"):
        checkpoint.load(no_meta)
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(CheckpointError, match="not an .npz"):
        checkpoint.load(npy)


# --------------------------------------------------------------------------- atomicity
def test_save_leaves_no_temp_files_and_replaces(scenario, tmp_path):
    path = saved(scenario, tmp_path, steps=2)
    model = advance(MSCModel(scenario, rng=7), 4)
    assert checkpoint.save(model, path) == path  # overwrite in place
    assert os.listdir(tmp_path) == ["ck.npz"]
    assert checkpoint.load(path)[2]["steps"] == 4


def test_failed_save_keeps_old_file(scenario, tmp_path, monkeypatch):
    path = saved(scenario, tmp_path, steps=2)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(advance(MSCModel(scenario, rng=7), 4), path)
    assert os.listdir(tmp_path) == ["ck.npz"]
    assert path.read_bytes() == before
