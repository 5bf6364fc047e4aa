"""The parameter table in the docs is generated from the schema and kept in step with it."""

from pathlib import Path

from abm.config import Scenario
from abm.config.table import markdown, rows

DOCS = Path(__file__).resolve().parent.parent / "docs" / "parameters.md"


def test_parameter_table_is_current():
    assert DOCS.read_text().rstrip("\n") == markdown().rstrip("\n"), (
        "docs/parameters.md is stale: run `make docs`")


def test_every_biology_parameter_names_a_source():
    missing = [r["key"] for r in rows(Scenario().biology, "biology.") if not r["source"].strip()]
    assert not missing, f"parameters without a source: {missing}"


def test_every_biology_parameter_has_a_unit():
    missing = [r["key"] for r in rows(Scenario().biology, "biology.") if not r["unit"].strip()]
    assert not missing, f"parameters without a unit: {missing}"



def test_defaults_lie_within_their_plausible_ranges():
    """Sensitivity analysis and calibration sample these ranges: they must contain the defaults."""
    outside = []
    for r in rows(Scenario().biology, "biology."):
        if r["plausible"]:
            lo, hi = r["plausible"]
            if not lo <= r["default"] <= hi:
                outside.append(f"{r['key']}={r['value']} not in {r['range']}")
    assert not outside, outside


def test_every_biology_parameter_has_a_plausible_range_and_a_source():
    from abm.config import Scenario
    from abm.config.table import rows

    for r in rows(Scenario().biology):
        if isinstance(r["default"], bool | str):  # a switch between hypotheses: a choice, not a range
            assert r["source"].startswith("assumption: a switch"), f"biology.{r['key']}"
            continue
        assert r["plausible"] is not None, f"biology.{r['key']} has no plausible range"
        assert r["source"], f"biology.{r['key']} has no source"
        for outside in ("DESIGN", "seed review", "SCIENCE", "shared/"):
            assert outside not in r["source"], f"biology.{r['key']}: source points outside the repository"


def test_results_are_stamped_with_the_commit_they_came_from():
    import re
    import subprocess

    text = (DOCS.parent / "results.md").read_text()
    stamp = re.search(r"\*\*Made with:\*\* model commit `([0-9a-f]{7,40})`", text)
    assert stamp, "docs/results.md must say which model commit its numbers came from"
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=DOCS.parent.parent, capture_output=True, text=True, timeout=10)

    try:
        shallow = git("rev-parse", "--is-shallow-repository")
    except (OSError, subprocess.SubprocessError):
        return  # no git here: the stamp's form is all that can be checked
    if shallow.returncode == 0 and shallow.stdout.strip() == "false":  # full history: the commit must exist
        assert git("cat-file", "-t", stamp.group(1)).stdout.strip() == "commit", stamp.group(1)


def test_the_model_doc_tables_are_current():
    from abm.biology import mechanisms

    assert mechanisms.model_tables() in (DOCS.parent / "model.md").read_text(), "docs/model.md is stale: make docs"


def test_every_observation_parameter_has_a_unit_a_source_and_a_default_in_range():
    """The observation layer (abm.clinical) is held to the biology's standard: its numbers are model surrogates."""
    for r in rows(Scenario().observation, "observation."):
        assert r["source"].strip() and r["unit"].strip(), r["key"]
        for outside in ("DESIGN", "seed review", "SCIENCE", "shared/"):
            assert outside not in r["source"], f"{r['key']}: source points outside the repository"
        if r["plausible"]:
            lo, hi = r["plausible"]
            assert lo <= r["default"] <= hi, f"{r['key']}={r['value']} not in {r['range']}"
