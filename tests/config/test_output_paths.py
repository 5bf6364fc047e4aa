"""Names become path components: a ``name`` can never write outside ``runs/`` (abm.config.names)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from abm.cli import app
from abm.config.names import NAME_PATTERN, check_name, inside

ROOT = Path(__file__).resolve().parents[2]
TINY = {"tissue": {"width_voxels": 10, "height_voxels": 10}, "simulation": {"burn_in_days": 1, "days": 2}}


def _specs(name: str) -> dict[str, tuple[list[str], dict]]:
    """command -> (arguments before the spec path, spec) for every command whose default --out uses the name."""
    base = str(ROOT / "configs" / "default_trial.yaml")
    return {
        "run": (["run", "--no-progress"], {"name": name, **TINY}),
        "batch": (["batch", "--backend", "serial"], {"name": name, "base": base, "overrides": TINY}),
        "hypothesis": (["hypothesis"], {"name": name, "base": base, "overrides": TINY, "reference": "msc",
                                        "control": "untreated", "factors": {"ido": {"blockade": "ido_inhibitor"}},
                                        "outcomes": ["ratio_day2"], "replicates": 2}),
        "sensitivity": (["sensitivity"], {"name": name, "method": "morris", "base": base, "overrides": TINY,
                                          "parameters": ["tcells.treg_half_life_days"], "n": 2,
                                          "outputs": [{"stat": "ratio_day2", "arm": "msc"}]}),
        "calibrate": (["calibrate"], {"name": name, "base": base, "overrides": TINY,
                                      "parameters": ["disease.systemic_il6"],
                                      "data": {"findings": ["BASE-SLE-TH17"]}}),
    }


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("bad", ["../ESCAPED", "ABSOLUTE", "a/b", ".hidden", "..", ""])
@pytest.mark.parametrize("command", ["run", "batch", "hypothesis", "sensitivity", "calibrate"])
def test_a_name_that_is_not_one_path_component_is_refused(tmp_path, monkeypatch, command, bad):
    if bad == "ABSOLUTE":
        bad = str(tmp_path / "absolute")
    work = tmp_path / "work"
    work.mkdir()
    args, spec = _specs(bad)[command]
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    before = _tree(tmp_path)
    monkeypatch.chdir(work)
    res = CliRunner().invoke(app, [*args, str(spec_file)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "name" in res.stderr and "not a valid name" in res.stderr, res.stderr
    assert _tree(tmp_path) == before


@given(st.text(min_size=1, max_size=30))
def test_a_valid_name_stays_inside_its_root(name):
    try:
        check_name(name)
    except ValueError:
        return
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    root = Path("runs")
    assert inside(root, "batches", name).resolve().parent == (root / "batches").resolve()


def test_inside_refuses_an_escape():
    with pytest.raises(ValueError, match="outside"):
        inside(Path("runs"), "..", "x")
    assert NAME_PATTERN.startswith("^")
