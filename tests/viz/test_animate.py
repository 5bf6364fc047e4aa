"""Slide animations (abm.viz.animate): frame count and size, MP4, a run directory reproduced, bad input."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from abm.config import load
from abm.run import run_scenario
from abm.viz import animate as anim

TINY = """\
name: tiny-anim
seed: 11
tissue: {width_voxels: 20, height_voxels: 20}
simulation: {burn_in_days: 2, days: 3, record_every_h: 24}
arms:
  msc:
    dose: {total_cells: 1.0e7}
    route: local
    schedule: {days: [0]}
  untreated:
    control: untreated
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("anim") / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def run_dir(tiny, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("anim-run") / "run"
    run_scenario(load(tiny), out, report=False, checkpoint_every_days=0)
    return out


def expected_size(fields: int) -> tuple[int, int]:
    a = anim.Animator
    return a.PANEL_PX * (fields + 1) + a.LEGEND_PX, a.HEIGHT_PX


def test_gif_has_one_frame_per_interval_and_the_figure_size(tiny, tmp_path):
    calls = []
    out = anim.animate(tiny, tmp_path / "a.gif", every_h=24, fps=4, progress=calls.append)
    days, every_h = 3, 24
    n = int(days * 24 / every_h + 1)
    with Image.open(out) as im:
        assert im.n_frames == n
        assert im.size == expected_size(2)
    assert calls == [1] * n


def test_every_h_and_days_and_fields_change_frames_and_size(tiny, tmp_path):
    out = anim.animate(tiny, tmp_path / "b.gif", every_h=12, days=2, fields=["ido"])
    with Image.open(out) as im:
        assert im.n_frames == int(2 * 24 / 12 + 1)
        assert im.size == expected_size(1)


def test_mp4(tiny, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    out = anim.animate(tiny, tmp_path / "a.mp4", arm="untreated", fps=8)
    assert out.stat().st_size > 0
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 4
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


def test_run_directory_reproduces_the_recorded_trajectories(run_dir):
    traj = pd.read_parquet(run_dir / "trajectories.parquet")
    for arm in ("msc", "untreated"):
        src = anim.load_source(run_dir, arm)
        assert src.burned is not None and src.recorded is not None
        frames = anim.simulate(src, anim.frame_days(src.days, 24, src.scenario.simulation.dt_h))
        rec = traj[traj.arm == arm].reset_index(drop=True)
        assert [f.t_days for f in frames] == rec.t_days.tolist()
        for col in anim.RATIOS:
            plotted = np.array([f.row[col] for f in frames])
            np.testing.assert_array_equal(plotted, rec[col].to_numpy())
        assert anim.compare_recorded(frames, src.recorded) == []
    # the values the animation draws are these frames' ratios
    animator = anim.Animator(src, frames, ["ido"])
    np.testing.assert_array_equal(animator.series["blood_treg_th17_ratio"], rec["blood_treg_th17_ratio"].to_numpy())


def test_run_directory_gif_reproduces_without_warning_and_marks_msc(run_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a mismatch with trajectories.parquet warns
        out = anim.animate(run_dir, tmp_path / "r.gif", arm="msc")
    with Image.open(out) as im:
        assert im.n_frames == 4
    frames = anim.simulate(anim.load_source(run_dir, "msc"), [1.0], [])
    assert frames[0].msc_x.size > 0  # local injection: MSC in the tissue on day 1
    assert (frames[0].cells == anim.CELL_CLASSES.index(("MSC", anim.CELL_CLASSES[-1][1]))).sum() == frames[0].msc_x.size


def test_a_changed_model_warns(run_dir, tmp_path):
    src = anim.load_source(run_dir, "msc")
    frames = anim.simulate(src, [0.0, 1.0], [])
    frames[1].row["blood_treg_th17_ratio"] += 1.0
    problems = anim.compare_recorded(frames, src.recorded)
    assert len(problems) == 1 and "day 1 blood_treg_th17_ratio" in problems[0]


@pytest.mark.parametrize("name", ["a.png", "a.avi", "a"])
def test_bad_suffix_names_the_allowed_ones(tiny, tmp_path, name):
    with pytest.raises(ValueError, match=r"\.gif, \.mp4"):
        anim.animate(tiny, tmp_path / name)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"arm": "nope"}, "arm 'nope'.*arms: msc, untreated"),
    ({"fields": ["ido", "xyz"]}, "unknown field.*allowed: ido"),
    ({"every_h": 3}, "whole multiple"),
    ({"days": -1}, "days must be"),
    ({"fps": 0}, "fps"),
])
def test_bad_input_is_a_clear_error(tiny, tmp_path, kwargs, match):
    with pytest.raises(anim.AnimationError, match=match):
        anim.animate(tiny, tmp_path / "x.gif", **kwargs)
    assert not (tmp_path / "x.gif").exists()


def test_bad_source(tmp_path):
    with pytest.raises(anim.AnimationError, match="no such file"):
        anim.load_source(tmp_path / "missing.yaml")
    with pytest.raises(anim.AnimationError, match="not a run directory"):
        anim.load_source(tmp_path)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(anim.AnimationError, match="scenario YAML"):
        anim.load_source(tmp_path / "x.txt")


def test_frame_days():
    assert anim.frame_days(3, 24, 2) == [0, 1, 2, 3]
    assert anim.frame_days(1, 8, 2) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert len(anim.frame_days(180, 24, 2)) == 181
    assert math.isclose(anim.frame_days(1, 10, 2)[-1], 20 / 24)
