"""The layers of the package hold, there is no import cycle, and the module map is current."""

from __future__ import annotations

from pathlib import Path

from abm import architecture as arch

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def test_every_module_has_a_layer_and_a_docstring():
    mods = arch.modules()
    assert len(mods) > 50
    for m in mods:
        arch.layer_of(m.name)
        assert m.summary, f"{m.name} has no docstring"


def test_no_import_from_a_higher_layer_and_no_cycle():
    assert arch.problems() == []


def test_the_engine_imports_nothing_of_the_biology_or_the_experiments():
    for m in arch.modules():
        if m.name.startswith("abm.engine"):
            assert all(i.startswith("abm.engine") for i in m.imports), (m.name, m.imports)


def test_a_violation_and_a_cycle_are_found():
    def mod(name: str, *imports: str) -> arch.Module:
        return arch.Module(name, Path(name), "x", imports)

    found = arch.problems([mod("abm.engine.a", "abm.engine.b", "abm.biology.x"), mod("abm.engine.b", "abm.engine.a"),
                           mod("abm.biology.x")])
    assert "abm.engine.a (engine) imports abm.biology.x (biology), a higher layer" in found
    assert any(p.startswith("import cycle:") and "abm.engine.a" in p and "abm.engine.b" in p for p in found)


def test_the_module_map_in_the_docs_is_current():
    text = DOC.read_text(encoding="utf-8")
    assert arch.markdown() in text, "docs/architecture.md module map is stale: run `make docs`"
