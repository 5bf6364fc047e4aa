"""The teaching app without a browser: model, narration, mechanism picture, figures."""

from collections import Counter

import pytest

pytest.importorskip("solara")
pytest.importorskip("mesa.visualization")

from abm.config import Blockades  # noqa: E402
from abm.viz.app_model import AppModel, build_scenario, defaults, parse_seed  # noqa: E402
from abm.viz.mechanisms import draw_mechanisms, edge_style, mechanism_graph  # noqa: E402
from abm.viz.narration import narrate  # noqa: E402


@pytest.fixture(scope="module")
def model():
    m = AppModel(**defaults())
    m.step()
    return m


def test_defaults_build_a_valid_local_scenario():
    d = defaults()
    assert d["route"] == "local"
    assert isinstance(d["seed"], str)  # the UI sends text
    s = build_scenario(d["disease"], seed=1)
    assert s.tissue.width_voxels == 60 and s.simulation.burn_in_days == 30
    assert s.arms["msc"].route == "local"


def test_seed_text_is_parsed():
    assert parse_seed("7") == (7, None)
    assert parse_seed(" 12 ")[0] == 12
    value, note = parse_seed("abc")
    assert isinstance(value, int) and "abc" in note


def test_app_model_steps_and_records(model):
    assert model.hours_per_step == 12
    assert model.t_days == pytest.approx(0.5)
    assert len(model.rows) == 2 and model.rows[-1]["t_days"] == pytest.approx(0.5)
    assert model.last_events["infusion"] == 1
    assert model.last_events["msc_arrived_tissue"] > 0  # local route: MSC on the grid
    assert model.messages and any("MSC" in m for m in model.messages)


def test_blockade_control_reaches_the_model():
    m = AppModel(**{**defaults(), "ido_inhibitor": True, "seed": "3"})
    assert m.blockades.ido_inhibitor and m.sim.blocked_mediators == [0]
    m.step()
    assert float(m.sim.space.fields[0].max()) == 0.0  # no IDO anywhere


def test_narration_reads_event_counts():
    msgs = narrate(Counter(msc_licensed=5, msc_apoptotic=3, msc_engulfed=2, t_treg_induced=4))
    text = " ".join(msgs)
    assert "licensed by inflammation" in text
    assert "engulfed" in text and "M2" in text
    assert "turning Treg" in text
    assert narrate({})[0].startswith("Quiet")


def test_narration_reads_state_changes():
    rows = [{"t_days": 0.0, "blood_treg_pct_cd4": 6.0, "blood_th17_pct_cd4": 1.5, "m2_fraction": 0.6},
            {"t_days": 1.0, "blood_treg_pct_cd4": 6.5, "blood_th17_pct_cd4": 1.45, "m2_fraction": 0.6},
            {"t_days": 2.0, "blood_treg_pct_cd4": 7.0, "blood_th17_pct_cd4": 1.3, "m2_fraction": 0.8}]
    text = " ".join(narrate({}, rows))
    assert "Treg rising in blood" in text
    assert "Th17 falling in blood" in text
    assert "M2" in text
    blocked = narrate({"msc_apoptotic": 4}, blockades=Blockades(no_efferocytosis=True))
    assert "Efferocytosis blocked" in " ".join(blocked)


def test_mechanism_graph_greys_ido_edges():
    g = mechanism_graph(Blockades(ido_inhibitor=True))
    ido_edges = list(g.in_edges("ido", data=True)) + list(g.out_edges("ido", data=True))
    assert ido_edges and all(d["blocked"] and d["blockade"] == "ido_inhibitor" for *_, d in ido_edges)
    assert g.nodes["ido"]["blocked"]
    assert all(edge_style(d)["style"] == "dashed" for *_, d in ido_edges)
    others = [d for u, v, d in g.edges(data=True) if "ido" not in (u, v)]
    assert not any(d["blocked"] for d in others)
    assert ("licensed MSC", "ido") in g.edges and ("lung", "blood") in g.edges  # secretion + compartments
    assert not any(d["blocked"] for *_, d in mechanism_graph(Blockades()).edges(data=True))
    fig = draw_mechanisms(g, title="t")
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_figures_draw(model):
    from abm.viz.components import mechanisms_png, plots_figure, png, status_html, tissue_figure

    for field in ("ido", "infl"):
        data = png(tissue_figure(model, field))
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    fig = tissue_figure(model, "pge2")
    assert fig.axes[0].get_images() and len(fig.axes[0].collections) == 2  # one imshow, two scatters
    assert png(plots_figure(model))[:4] == b"\x89PNG"
    assert mechanisms_png(model)[:4] == b"\x89PNG"
    html = status_html(model)
    assert "Day 0.5" in html and "Blockades" in html


def test_page_element_and_params():
    from abm.viz import app

    params = app.model_params()
    import inspect

    accepted = inspect.signature(AppModel.__init__).parameters
    assert set(params) <= set(accepted)
    assert params["route"]["value"] == "local"
    assert app.page is not None
