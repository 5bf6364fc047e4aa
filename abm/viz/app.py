"""The teaching app: a Mesa SolaraViz page over :class:`abm.viz.app_model.AppModel`.

Run it with ``abm app [CONFIG] [--port P]`` (:func:`serve`), or directly with
``ABM_APP_CONFIG=cfg.yaml solara run abm.viz.app``.  Solara needs ``solara-assets`` to work
offline (otherwise the page loads its scripts from a CDN) and ``ipyvue<2``/``ipyvuetify<2``
(3.x leave the page blank with Mesa 3.5).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import solara

from abm.viz.app_model import BLOCKADE_LABELS, CONFIG_ENV, ROUTES, SCHEDULES, SOURCES, AppModel, defaults

APP_FILE = Path(__file__).resolve()
REPO_ROOT = APP_FILE.parents[2]


def model_params(initial: dict | None = None) -> dict:
    """The controls of the app (SolaraViz ``model_params``), initialised from ``initial``."""
    d = {**defaults(), **(initial or {})}
    params: dict = {
        "disease": {"type": "Select", "value": d["disease"], "values": ["healthy", "sle", "ra"],
                    "label": "Disease preset"},
        "source": {"type": "Select", "value": d["source"], "values": list(SOURCES), "label": "MSC product source"},
        "dose_million_per_kg": {"type": "SliderFloat", "value": d["dose_million_per_kg"], "min": 0.1, "max": 10.0,
                                "step": 0.1, "label": "Dose (10^6 cells/kg per infusion)"},
        "body_weight_kg": {"type": "SliderInt", "value": d["body_weight_kg"], "min": 10, "max": 120, "step": 1,
                           "label": "Body weight (kg)"},
        "route": {"type": "Select", "value": d["route"], "values": list(ROUTES),
                  "label": "Route (app default: local, so MSC are seen in the tissue)"},
        "schedule": {"type": "Select", "value": d["schedule"], "values": list(SCHEDULES), "label": "Schedule"},
    }
    for key, label in BLOCKADE_LABELS.items():
        params[key] = {"type": "Checkbox", "value": d[key], "label": f"Block: {label}"}
    params["seed"] = {"type": "InputText", "value": d["seed"], "label": "Seed (whole number)"}
    return params


@solara.component
def Page():
    """The SolaraViz page: controls, status panel, tissue, live plots, mechanisms.

    The first model is built once per browser session (not at import), so sessions never share a
    model and importing this module stays cheap.
    """
    from mesa.visualization import SolaraViz

    from abm.viz.components import MechanismsView, PlotsView, StatusPanel, TissueView

    model = solara.use_memo(lambda: AppModel(**defaults()), [])
    params = solara.use_memo(model_params, [])
    return SolaraViz(
        model,
        components=[(StatusPanel, 0), (TissueView, 0), (PlotsView, 0), (MechanismsView, 0)],
        model_params=params,
        name="MSC immunomodulation: teaching app",
        play_interval=150,
    )


def serve(config: Path | None, port: int, host: str = "127.0.0.1") -> int:
    """Serve the app with ``solara run`` on ``host:port`` until interrupted; returns its exit code.

    The scenario file reaches the app through ``$ABM_APP_CONFIG``; the package's parent folder is put
    on ``PYTHONPATH`` so the server imports this very ``abm``.
    """
    env = dict(os.environ)
    if config is not None:
        env[CONFIG_ENV] = str(Path(config).resolve())
    else:
        env.pop(CONFIG_ENV, None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("MPLBACKEND", "Agg")
    solara_exe = shutil.which("solara", path=str(Path(sys.executable).parent)) or shutil.which("solara")
    cmd = [solara_exe] if solara_exe else [sys.executable, "-m", "solara"]
    cmd += ["run", "abm.viz.app", "--host", host, "--port", str(port), "--production", "--no-open"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


page = Page()
"""The element ``solara run`` serves (SolaraViz inside a per-session wrapper)."""
