"""Config: defaults, presets, loading (overlays, overrides, ``extends``), hashing, error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.biology.disease import load_preset
from abm.config import (
    ConfigError,
    Scenario,
    config_hash,
    dump_yaml,
    load,
    preset_names,
    to_dict,
    validate_dict,
)
from abm.config.load import deep_merge


def write_yaml(path: Path, data: Any) -> Path:
    """Write ``data`` (a mapping, or raw text) as a YAML file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def config_error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        validate_dict(data)
    return str(info.value)


# --------------------------------------------------------------------------- defaults and presets
def test_defaults_validate_and_agree():
    s = Scenario()
    assert validate_dict({}) == s
    assert load() == s
    assert load(None, overrides={}) == s
    # the documented defaults: an SLE patient, one IV MSC arm beside an untreated control
    assert s.disease.preset == "sle"
    assert list(s.arms) == ["msc", "untreated"]
    assert s.arms["msc"].gives_cells and not s.arms["untreated"].gives_cells
    assert s.arms["msc"].dose.cells_per_kg == 1e6 and s.arms["msc"].route == "iv"
    assert s.simulation.record_every_h % s.simulation.dt_h == 0


def test_resolved_scenario_round_trips_through_dict_and_yaml():
    s = Scenario()
    assert validate_dict(to_dict(s)) == s
    assert validate_dict(yaml.safe_load(dump_yaml(s))) == s


def test_packaged_presets_exist():
    assert {"healthy", "ra", "sle"} <= set(preset_names())


@pytest.mark.parametrize("name", preset_names())
def test_every_packaged_preset_loads_with_its_values(name):
    values = load_preset(name)
    assert values, f"preset {name} is empty"
    s = validate_dict({"disease": {"preset": name}})
    assert s.disease.preset == name
    for key, value in values.items():
        assert getattr(s.disease, key) == value, f"{name}.{key}"
    # the string shorthand is the same scenario
    assert validate_dict({"disease": name}) == s


def test_preset_values_can_be_overridden_one_by_one():
    sle = load_preset("sle")
    s = validate_dict({"disease": {"preset": "sle", "treg_function": 0.95}})
    assert s.disease.treg_function == 0.95
    assert s.disease.antigen_drive == sle["antigen_drive"]
    assert s.disease.autologous_msc_impaired is True


def test_presets_differ_where_the_disease_does():
    healthy, sle, ra = (validate_dict({"disease": n}).disease for n in ("healthy", "sle", "ra"))
    assert sle.treg_function < healthy.treg_function
    assert ra.treg_function < healthy.treg_function
    assert sle.autologous_msc_impaired and not ra.autologous_msc_impaired
    assert not healthy.autologous_msc_impaired


# --------------------------------------------------------------------------- loading
def test_overrides_merge_into_the_file(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", {
        "name": "merge", "simulation": {"days": 20, "burn_in_days": 5},
        "arms": {"msc": {"dose": {"total_cells": 4e7}}, "untreated": {"control": "untreated"}}})
    s = load(cfg, overrides={"simulation": {"days": 10}, "seed": 7})
    assert s.simulation.days == 10  # overridden
    assert s.simulation.burn_in_days == 5  # kept from the file (nested merge, not replace)
    assert s.seed == 7 and s.name == "merge"
    assert s.arms["msc"].dose.total_cells == 4e7
    assert s.arms["msc"].dose.cells_per_kg is None


def test_overlays_apply_in_order_then_overrides(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", {"simulation": {"days": 20, "burn_in_days": 5}})
    o1 = write_yaml(tmp_path / "o1.yaml", {"simulation": {"days": 30}, "patient": {"body_weight_kg": 70}})
    o2 = write_yaml(tmp_path / "o2.yaml", {"simulation": {"days": 40}})
    s = load(cfg, overlays=[o1, o2])
    assert (s.simulation.days, s.simulation.burn_in_days, s.patient.body_weight_kg) == (40, 5, 70)
    s = load(cfg, overlays=[o1, o2], overrides={"simulation": {"days": 50}})
    assert s.simulation.days == 50


def test_an_overlay_or_override_naming_no_arm_is_refused(tmp_path):
    """A misspelt arm in an overlay or override is an error, not a silently added default arm."""
    cfg = write_yaml(tmp_path / "c.yaml", {"simulation": {"days": 30}})
    typo = write_yaml(tmp_path / "typo.yaml", {"arms": {"mcs": {"dose": {"cells_per_kg": 2e6}}}})
    with pytest.raises(ConfigError, match=r"overlay .*typo.yaml: arms\.mcs: no such arm.*arms\.\+mcs"):
        load(cfg, overlays=[typo])
    with pytest.raises(ConfigError, match=r"command-line options: arms\.mcs: no such arm"):
        load(cfg, overrides={"arms": {"mcs": {"dose": {"cells_per_kg": 2e6}}}})


def test_an_overlay_changes_one_arm_and_keeps_the_default_others(tmp_path):
    cfg = write_yaml(tmp_path / "c.yaml", {"simulation": {"days": 30}})
    over = write_yaml(tmp_path / "o.yaml", {"arms": {"msc": {"dose": {"cells_per_kg": 2e6}},
                                                 "+late": {"schedule": {"days": [7]}}}})
    s = load(cfg, overlays=[over])
    assert list(s.arms) == ["msc", "untreated", "late"]
    assert s.arms["msc"].dose.cells_per_kg == 2e6 and s.arms["untreated"].control == "untreated"
    assert s.arms["late"].schedule.days == [7]


def test_missing_overlay_is_a_config_error(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", {})
    with pytest.raises(ConfigError, match="no such file"):
        load(cfg, overlays=[tmp_path / "absent.yaml"])


def test_deep_merge_does_not_mutate_its_inputs():
    base = {"a": {"b": 1, "c": 2}, "d": [1]}
    over = {"a": {"b": 3}, "d": [2]}
    out = deep_merge(base, over)
    assert out == {"a": {"b": 3, "c": 2}, "d": [2]}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1]}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_is_refused_not_taken_as_the_defaults(tmp_path, text):
    with pytest.raises(ConfigError, match="holds no keys"):
        load(write_yaml(tmp_path / "empty.yaml", text))
    assert load(None) == Scenario()  # the defaults: no file at all


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    with pytest.raises(ConfigError, match=r"key 'seed' is given twice \(lines 2 and 3\)"):
        load(write_yaml(tmp_path / "dup.yaml", "simulation: {days: 3}\nseed: 1\nseed: 2\n"))
    with pytest.raises(ConfigError, match="key 'days' is given twice"):
        load(write_yaml(tmp_path / "dup2.yaml", "simulation:\n  days: 3\n  days: 4\n"))
    from abm.config.load import read_yaml

    merged = read_yaml(write_yaml(tmp_path / "merge.yaml", "base: &b {days: 3}\nsim: {<<: *b, dt_h: 2}\n"))
    assert merged["sim"] == {"days": 3, "dt_h": 2}  # a YAML merge key is not a duplicate


def test_an_alias_bomb_and_deep_nesting_are_refused_quickly(tmp_path):
    levels = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    with pytest.raises(ConfigError, match="expands to more than"):
        load(write_yaml(tmp_path / "bomb.yaml", "\n".join(levels) + "\n"))
    with pytest.raises(ConfigError, match="nested deeper than"):
        load(write_yaml(tmp_path / "deep.yaml", "x: " + "[" * 1000 + "]" * 1000 + "\n"))


def test_messages_cut_long_values_short():
    with pytest.raises(ConfigError) as info:
        validate_dict({"simulaton": {"k": "v" * 10_000}})
    assert len(str(info.value)) < 400 and "simulaton" in str(info.value)


def test_extends_relative_to_the_file(tmp_path):
    write_yaml(tmp_path / "base.yaml", {
        "name": "base", "disease": {"preset": "ra"}, "patient": {"body_weight_kg": 80},
        "simulation": {"days": 20, "burn_in_days": 10}})
    child = write_yaml(tmp_path / "sub" / "child.yaml", {
        "extends": "../base.yaml", "name": "child", "simulation": {"days": 12}})
    s = load(child)
    assert s.name == "child"
    assert s.simulation.days == 12 and s.simulation.burn_in_days == 10  # merged, not replaced
    assert s.disease.preset == "ra" and s.patient.body_weight_kg == 80
    assert "extends" not in to_dict(s)


def test_extends_chains(tmp_path):
    write_yaml(tmp_path / "a.yaml", {"patient": {"body_weight_kg": 50}, "seed": 1})
    write_yaml(tmp_path / "b.yaml", {"extends": "a.yaml", "seed": 2, "name": "b"})
    c = write_yaml(tmp_path / "c.yaml", {"extends": "b.yaml", "seed": 3})
    s = load(c)
    assert (s.patient.body_weight_kg, s.seed, s.name) == (50, 3, "b")


def test_packaged_examples_extend_the_default_trial():
    root = Path(__file__).resolve().parents[2] / "configs"
    base = load(root / "default_trial.yaml")
    child = load(root / "examples" / "child_two_doses.yaml")
    assert child.disease == base.disease
    assert child.patient.body_weight_kg == 25
    assert child.arms["msc"].schedule.infusion_days() == [0.0, 7.0]
    assert child.findings == base.findings


@pytest.mark.parametrize("kind", ["self", "pair", "triangle"])
def test_extends_cycle_is_an_error(tmp_path, kind):
    names = {"self": ["a"], "pair": ["a", "b"], "triangle": ["a", "b", "c"]}[kind]
    for i, name in enumerate(names):
        nxt = names[(i + 1) % len(names)]
        write_yaml(tmp_path / f"{name}.yaml", {"extends": f"{nxt}.yaml"})
    with pytest.raises(ConfigError, match="cycle") as info:
        load(tmp_path / "a.yaml")
    assert "extends" in str(info.value)


def test_extends_missing_base_is_an_error(tmp_path):
    cfg = write_yaml(tmp_path / "s.yaml", {"extends": "nowhere.yaml"})
    with pytest.raises(ConfigError, match="no such file") as info:
        load(cfg)
    assert "nowhere.yaml" in str(info.value)


# --------------------------------------------------------------------------- hashing
def test_config_hash_is_stable_for_equal_configs(tmp_path):
    a = validate_dict({"arms": {"msc": {"dose": {"cells_per_kg": 1000000}}}})
    b = validate_dict({"arms": {"msc": {"dose": {"cells_per_kg": 1.0e6}}}})
    assert a is not b and config_hash(a) == config_hash(b)
    assert config_hash(Scenario()) == config_hash(Scenario())
    assert config_hash(validate_dict({"disease": "sle"})) == config_hash(
        validate_dict({"disease": {"preset": "sle"}}))
    reloaded = load(write_yaml(tmp_path / "dump.yaml", dump_yaml(a)))
    assert config_hash(reloaded) == config_hash(a)
    h = config_hash(a)
    assert len(h) == 16 and int(h, 16) >= 0


def test_config_hash_ignores_name_and_seed():
    base = config_hash(Scenario())
    assert config_hash(validate_dict({"name": "other", "seed": 1})) == base


@pytest.mark.parametrize("override", [
    {"biology": {"delivery": {"lung_trap_fraction_iv": 0.9}}},
    {"biology": {"fields": {"il6": {"loss_per_min": 0.3}}}},
    {"biology": {"secretion": {"msc_licensed": {"ido": 9.0}}}},
    {"disease": {"preset": "ra"}},
    {"disease": {"preset": "sle", "treg_function": 0.71}},
    {"arms": {"msc": {"dose": {"cells_per_kg": 2e6}}}},
    {"patient": {"body_weight_kg": 61}},
    {"simulation": {"days": 90}},
], ids=lambda o: next(iter(o)))
def test_config_hash_changes_with_the_model(override):
    assert config_hash(validate_dict(override)) != config_hash(Scenario())


@settings(max_examples=25, deadline=None)
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=20),
       seed=st.integers(min_value=0, max_value=2**63 - 1),
       trap=st.floats(min_value=0.0, max_value=1.0))
def test_config_hash_property(name, seed, trap):
    bio = {"biology": {"delivery": {"lung_trap_fraction_iv": trap}}}
    ref = validate_dict(bio)
    assert config_hash(validate_dict({**bio, "name": name, "seed": seed})) == config_hash(ref)
    if trap != 0.95:
        assert config_hash(ref) != config_hash(Scenario())


# --------------------------------------------------------------------------- errors
ERROR_CASES = [
    # (id, bad config, substrings the message must contain)
    ("unknown-key", {"arms": {"msc": {"doze": 3}}}, ["arms.msc.doze", "unknown key", "3"]),
    ("unknown-top-key", {"simulaton": {"days": 3}}, ["simulaton", "unknown key"]),
    ("wrong-type", {"simulation": {"days": "ten"}}, ["simulation.days", "'ten'", "number"]),
    ("negative-dose", {"arms": {"msc": {"dose": {"cells_per_kg": -5.0}}}},
     ["arms.msc.dose.cells_per_kg", "-5.0", "greater than 0"]),
    ("negative-total", {"arms": {"msc": {"dose": {"total_cells": -4e7}}}},
     ["arms.msc.dose.total_cells", "-40000000.0", "greater than 0"]),
    ("both-doses", {"arms": {"msc": {"dose": {"cells_per_kg": 1e6, "total_cells": 4e7}}}},
     ["arms.msc.dose", "cells_per_kg", "total_cells", "exactly one"]),
    ("no-dose", {"arms": {"msc": {"dose": {}}}},
     ["arms.msc.dose", "cells_per_kg", "total_cells", "exactly one"]),
    ("empty-schedule", {"arms": {"msc": {"schedule": {"days": []}}}},
     ["arms.msc.schedule", "schedule.days", "empty"]),
    ("decreasing-schedule", {"arms": {"msc": {"schedule": {"days": [7, 0]}}}},
     ["arms.msc.schedule", "[7.0, 0.0]", "increasing"]),
    ("repeated-day", {"arms": {"msc": {"schedule": {"days": [0, 3, 3]}}}},
     ["arms.msc.schedule", "[0.0, 3.0, 3.0]", "increasing"]),
    ("negative-day", {"arms": {"msc": {"schedule": {"days": [-1, 3]}}}},
     ["arms.msc.schedule", "-1.0", ">= 0"]),
    ("every-without-times", {"arms": {"msc": {"schedule": {"every_days": 7}}}},
     ["arms.msc.schedule", "every_days", "times"]),
    ("infusion-after-end", {"simulation": {"days": 6}, "arms": {"msc": {"schedule": {"days": [0, 10]}}}},
     ["arms.msc.schedule", "[10.0]", "after the end", "simulation.days", "6.0"]),
    ("periodic-after-end",
     {"simulation": {"days": 10}, "arms": {"msc": {"schedule": {"every_days": 7, "times": 3}}}},
     ["arms.msc.schedule", "[14.0]", "after the end"]),
    ("record-not-multiple", {"simulation": {"dt_h": 2, "record_every_h": 5}},
     ["simulation.record_every_h", "5.0", "simulation.dt_h", "2.0", "multiple"]),
    ("record-shorter-than-step", {"simulation": {"dt_h": 4, "record_every_h": 2}},
     ["simulation.record_every_h", "2.0", "4.0"]),
    ("unknown-preset", {"disease": {"preset": "lupus"}},
     ["disease", "'lupus'", "healthy", "ra", "sle"]),
    ("unknown-preset-shorthand", {"disease": "lupus"}, ["disease", "'lupus'", "allowed"]),
    ("bad-route", {"arms": {"msc": {"route": "oral"}}}, ["arms.msc.route", "'oral'", "'iv'", "'local'"]),
    ("bad-control", {"arms": {"c": {"control": "placebo"}}}, ["arms.c.control", "'placebo'", "untreated"]),
    ("no-arms", {"arms": {}}, ["arms", "at least one arm"]),
    ("bad-arm-name", {"arms": {"my arm": {}}}, ["arms", "'my arm'"]),
    ("passage-too-high", {"arms": {"msc": {"product": {"passage": 40}}}},
     ["arms.msc.product.passage", "40"]),
    ("zero-days", {"simulation": {"days": 0}}, ["simulation.days", "0", "greater than 0"]),
    ("bad-weight", {"patient": {"body_weight_kg": -60}}, ["patient.body_weight_kg", "-60"]),
    ("bad-biology", {"biology": {"delivery": {"lung_trap_fraction_iv": 1.5}}},
     ["biology.delivery.lung_trap_fraction_iv", "1.5", "less than or equal to 1"]),
]


@pytest.mark.parametrize(("data", "needles"), [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_error_names_key_and_value(data, needles):
    msg = config_error(data)
    for needle in needles:
        assert needle in msg, f"{needle!r} missing from:\n{msg}"


@pytest.mark.parametrize(("data", "needles"), [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_error_from_a_file_names_the_file(tmp_path, data, needles):
    path = write_yaml(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigError) as info:
        load(path)
    msg = str(info.value)
    assert msg.startswith(str(path))
    for needle in needles:
        assert needle in msg, f"{needle!r} missing from:\n{msg}"


def test_error_from_overrides_names_the_key(tmp_path):
    path = write_yaml(tmp_path / "ok.yaml", {"name": "ok"})
    with pytest.raises(ConfigError) as info:
        load(path, overrides={"simulation": {"days": -5}})
    assert "simulation.days" in str(info.value) and "-5" in str(info.value)


def test_both_doses_error_shows_the_values():
    msg = config_error({"arms": {"msc": {"dose": {"cells_per_kg": 2.5e6, "total_cells": 4e7}}}})
    assert "2500000" in msg and "40000000" in msg


def test_several_errors_are_all_reported():
    msg = config_error({"simulation": {"days": "ten"}, "arms": {"msc": {"doze": 1}}})
    assert "simulation.days" in msg and "arms.msc.doze" in msg


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="no such file") as info:
        load(path)
    assert str(path) in str(info.value)


def test_directory_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory, not a YAML file"):
        load(tmp_path)


def test_undecodable_file(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"name: \xff\xfe\xfa\n")
    with pytest.raises(ConfigError, match="cannot read file") as info:
        load(path)
    assert str(path) in str(info.value)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write_yaml(tmp_path / "locked.yaml", {"name": "x"})
    real = Path.read_text

    def deny(self, *args, **kwargs):  # chmod 000 does not stop root, so deny at the call
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", deny)
    with pytest.raises(ConfigError, match="cannot read file") as info:
        load(path)
    assert str(path) in str(info.value) and "Permission denied" in str(info.value)


def test_invalid_yaml(tmp_path):
    path = write_yaml(tmp_path / "broken.yaml", "simulation: {days: [1, 2\narms: ]\n")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("42\n", "int"),
                                            ("just a string\n", "str")])
def test_top_level_must_be_a_mapping(tmp_path, text, kind):
    path = write_yaml(tmp_path / "top.yaml", text)
    with pytest.raises(ConfigError, match="top level must be a mapping") as info:
        load(path)
    assert str(path) in str(info.value) and kind in str(info.value)


def test_validate_dict_rejects_a_list():
    with pytest.raises(ConfigError, match="top level must be a mapping.*list"):
        validate_dict([{"name": "x"}])  # type: ignore[arg-type]


def test_a_bad_key_is_blamed_on_the_overlay_or_option_that_has_it(tmp_path):
    cfg = write_yaml(tmp_path / "c.yaml", {"simulation": {"days": 30}})
    bad = write_yaml(tmp_path / "bad_overlay.yaml", {"biology": {"tcells": {"treg_half_life_dayz": 3}}})
    with pytest.raises(ConfigError, match=r"^overlay .*bad_overlay.yaml \(on .*c.yaml\): invalid config"):
        load(cfg, overlays=[bad])
    with pytest.raises(ConfigError, match=r"^command-line options \(on .*c.yaml\): invalid config\n  seed"):
        load(cfg, overrides={"seed": -3})
    with pytest.raises(ConfigError, match=r"^.*c2.yaml: invalid config"):
        load(write_yaml(tmp_path / "c2.yaml", {"simulaton": {}}), overlays=[bad])


def test_validator_messages_drop_pydantics_prefix():
    from abm.experiments.sensitivity.spec import SensitivitySpec

    with pytest.raises(Exception) as info:
        SensitivitySpec.model_validate({"method": "morris", "function": "ishigami", "outputs": [{"stat": "y"}],
                                        "parameters": [{"key": "x1", "bounds": [5, 1]}]})
    from abm.config.load import _format_error

    lines = [_format_error(e) for e in info.value.errors(include_url=False)]
    assert any("low 5" in line and "Value error" not in line for line in lines), lines


def test_the_field_coarsening_must_divide_the_tissue():
    msg = config_error({"tissue": {"width_voxels": 101}, "simulation": {"field_coarsening": 2}})
    assert "tissue.width_voxels (101) must be a multiple of simulation.field_coarsening (2)" in msg
    assert validate_dict({"simulation": {"field_coarsening": 4}}).simulation.field_coarsening == 4
