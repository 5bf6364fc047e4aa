"""The model behind the teaching app: UI controls -> a validated scenario -> a treated arm.

The app keeps the model's biology but makes Reset fast: a 60x60 grid (1.2 mm) instead of 100x100
and a 30-day burn-in instead of 120 (the untreated tissue is settled enough to show the shift; use
``abm run`` for numbers).  One app step is ``hours_per_step`` hours (12 by default: six model steps
of 2 h), so plots move at each click.  Burned-in patients are cached by everything that shapes
them (disease, weight, biology, seed), so changing only the treatment or a blockade resets at once.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

import mesa

from abm.config import Scenario, load, to_dict, validate_dict
from abm.model import MSCModel
from abm.record import Recorder
from abm.run import branch, burn_in

CONFIG_ENV = "ABM_APP_CONFIG"
"""Environment variable naming the scenario YAML the app starts from (set by ``abm app CONFIG``)."""

APP_GRID = 60
APP_BURN_IN_DAYS = 30.0
APP_DAYS = 180.0
HOURS_PER_STEP = 12.0
DEFAULT_SEED = 20261127

SOURCES = ("umbilical_cord", "bone_marrow", "adipose")
ROUTES = ("local", "iv", "intra_arterial")
SCHEDULES: dict[str, dict[str, Any]] = {
    "once (day 0)": {"days": [0.0]},
    "days 0 and 7": {"days": [0.0, 7.0]},
    "weekly x4": {"every_days": 7.0, "times": 4},
}
BLOCKADES = ("ido_inhibitor", "cox2_inhibitor", "anti_tgfb", "no_efferocytosis", "no_contact")
BLOCKADE_LABELS = {"ido_inhibitor": "IDO inhibitor", "cox2_inhibitor": "COX-2 inhibitor (no PGE2)",
                   "anti_tgfb": "anti-TGF-beta", "no_efferocytosis": "no efferocytosis",
                   "no_contact": "no contact suppression"}


def base_config(path: str | Path | None = None) -> dict[str, Any]:
    """The resolved scenario the app starts from: ``path``, else ``$ABM_APP_CONFIG``, else defaults."""
    path = path or os.environ.get(CONFIG_ENV) or None
    return _base_config_cached(str(path) if path else "")


_BASE_CACHE: dict[str, dict[str, Any]] = {}


def _base_config_cached(path: str) -> dict[str, Any]:
    if path not in _BASE_CACHE:
        _BASE_CACHE[path] = to_dict(load(path or None))
    return copy.deepcopy(_BASE_CACHE[path])


def _treated_arm(base: dict[str, Any]) -> dict[str, Any]:
    for arm in base.get("arms", {}).values():
        if arm.get("control", "none") == "none":
            return arm
    return {}


def defaults(path: str | Path | None = None) -> dict[str, Any]:
    """Initial values of the controls, from the starting scenario (route: always ``local``)."""
    base = base_config(path)
    arm = _treated_arm(base)
    weight = float(base["patient"]["body_weight_kg"])
    dose = arm.get("dose", {})
    per_kg = dose.get("cells_per_kg") or (dose.get("total_cells") or 1e6 * weight) / weight
    schedule = "once (day 0)"
    for name, spec in SCHEDULES.items():
        got = {k: v for k, v in arm.get("schedule", {}).items() if v is not None and k != "start_day"}
        if got == spec:
            schedule = name
    blockades = arm.get("blockades", {})
    out: dict[str, Any] = {
        "disease": base["disease"]["preset"],
        "source": arm.get("product", {}).get("source", "umbilical_cord"),
        "dose_million_per_kg": round(float(per_kg) / 1e6, 2),
        "body_weight_kg": int(round(weight)),
        "route": "local",
        "schedule": schedule,
        "seed": str(base.get("seed", DEFAULT_SEED)),
    }
    out.update({b: bool(blockades.get(b, False)) for b in BLOCKADES})
    return out


def parse_seed(text: Any) -> tuple[int, str | None]:
    """The seed typed in the UI (a string) as an int; falls back to the default with a note."""
    try:
        value = int(str(text).strip())
        if value < 0:
            raise ValueError
        return value, None
    except (TypeError, ValueError):
        return DEFAULT_SEED, f"seed {text!r} is not a whole number >= 0; using {DEFAULT_SEED}"


def build_scenario(disease: str = "sle", source: str = "umbilical_cord", dose_million_per_kg: float = 1.0,
                   body_weight_kg: float = 60, route: str = "local", schedule: str = "once (day 0)",
                   seed: int = DEFAULT_SEED, hours_per_step: float = HOURS_PER_STEP,
                   blockades: dict[str, bool] | None = None, config: str | Path | None = None) -> Scenario:
    """A validated scenario with one treated arm ``msc`` from the app's controls."""
    base = base_config(config)
    arm = _treated_arm(base)
    sim = dict(base["simulation"])
    dt = float(sim["dt_h"])
    sim.update(days=APP_DAYS, burn_in_days=APP_BURN_IN_DAYS,
               record_every_h=max(1, round(hours_per_step / dt)) * dt)
    disease_cfg = base["disease"] if base["disease"]["preset"] == disease else {"preset": disease}
    product = {**arm.get("product", {}), "source": source}
    data = {
        "name": "app",
        "seed": int(seed),
        "simulation": sim,
        "tissue": {**base["tissue"], "width_voxels": APP_GRID, "height_voxels": APP_GRID},
        "patient": {"body_weight_kg": float(body_weight_kg)},
        "disease": disease_cfg,
        "biology": base["biology"],
        "arms": {"msc": {
            "product": product,
            "dose": {"cells_per_kg": float(dose_million_per_kg) * 1e6},
            "route": route,
            "schedule": SCHEDULES[schedule],
            "concomitant": arm.get("concomitant", []),
            "blockades": {b: bool((blockades or {}).get(b, False)) for b in BLOCKADES},
        }},
    }
    return validate_dict(data, origin="app controls")


_BURN_CACHE: OrderedDict[str, tuple[dict, dict]] = OrderedDict()
_BURN_LOCK = threading.Lock()


def burned_state(scenario: Scenario) -> tuple[dict, dict]:
    """The burned-in untreated state for a scenario (cached; arms do not shape the burn-in)."""
    data = to_dict(scenario)
    for key in ("arms", "name", "findings"):
        data.pop(key, None)
    key = json.dumps(data, sort_keys=True)
    with _BURN_LOCK:
        if key in _BURN_CACHE:
            _BURN_CACHE.move_to_end(key)
            return _BURN_CACHE[key]
        state = burn_in(scenario).state_dict()
        _BURN_CACHE[key] = state
        while len(_BURN_CACHE) > 8:
            _BURN_CACHE.popitem(last=False)
        return state


class AppModel(mesa.Model):
    """A treated arm of the model, stepped in chunks of ``hours_per_step`` for the browser.

    Every keyword is a control of the app (SolaraViz passes them on Reset).  The simulation itself
    is ``self.sim`` (an :class:`abm.model.MSCModel`); ``self.rows`` holds one
    :func:`abm.record.snapshot` row per app step and ``self.last_events`` the event counts of the
    last app step.
    """

    def __init__(self, disease: str = "sle", source: str = "umbilical_cord", dose_million_per_kg: float = 1.0,
                 body_weight_kg: int = 60, route: str = "local", schedule: str = "once (day 0)",
                 ido_inhibitor: bool = False, cox2_inhibitor: bool = False, anti_tgfb: bool = False,
                 no_efferocytosis: bool = False, no_contact: bool = False, seed: str | int = str(DEFAULT_SEED),
                 hours_per_step: float = HOURS_PER_STEP, config: str | None = None):
        root_seed, self.seed_note = parse_seed(seed)
        super().__init__(rng=root_seed)
        self.params = {"disease": disease, "source": source, "dose_million_per_kg": dose_million_per_kg,
                       "body_weight_kg": body_weight_kg, "route": route, "schedule": schedule,
                       "seed": root_seed}
        self.blockade_flags = {"ido_inhibitor": bool(ido_inhibitor), "cox2_inhibitor": bool(cox2_inhibitor),
                               "anti_tgfb": bool(anti_tgfb), "no_efferocytosis": bool(no_efferocytosis),
                               "no_contact": bool(no_contact)}
        self.scenario_cfg = build_scenario(disease, source, dose_million_per_kg, body_weight_kg, route, schedule,
                                           root_seed, hours_per_step, self.blockade_flags, config)
        self.sim: MSCModel = branch(self.scenario_cfg, burned_state(self.scenario_cfg), "msc")
        self.grid = self.sim.grid  # the name Mesa's renderers expect
        sim_cfg = self.scenario_cfg.simulation
        self.steps_per_app_step = int(round(sim_cfg.record_every_h / sim_cfg.dt_h))
        self.hours_per_step = self.steps_per_app_step * sim_cfg.dt_h
        self.total_app_steps = int(round(sim_cfg.days * 24 / self.hours_per_step))
        self.recorder = Recorder()
        self.recorder.record(self.sim)
        self.last_events: Counter[str] = Counter()
        self.messages: list[str] = []
        """What happened in the last app step, in plain language (:func:`abm.viz.narration.narrate`)."""
        self.log: list[tuple[float, str]] = []
        """(day, message) of earlier narration, newest last."""

    @property
    def rows(self) -> list[dict[str, float]]:
        """Trajectory rows so far (day 0 first)."""
        return self.recorder.rows

    @property
    def t_days(self) -> float:
        """Simulated days since the first treatment day."""
        return self.sim.t_days

    @property
    def blockades(self):
        """The arm's blockades (pydantic ``Blockades``)."""
        return self.sim.blockades

    def step(self) -> None:
        """Advance ``hours_per_step`` hours of simulated time and record a row."""
        before = Counter(self.sim.events)
        for _ in range(self.steps_per_app_step):
            self.sim.step()
        self.recorder.record(self.sim)
        self.last_events = Counter(self.sim.events)
        self.last_events.subtract(before)
        from abm.viz.narration import narrate

        self.messages = narrate(self.last_events, self.rows, self.blockades, self.hours_per_step)
        self.log.extend((self.t_days, m) for m in self.messages)
        del self.log[:-40]
        if len(self.rows) > self.total_app_steps:
            self.running = False
