"""Disease context: the chronic drive a patient brings, as a named preset plus overrides.

Presets live in ``abm/biology/diseases/<name>.yaml``; each value there names its source.  A
config selects one with ``disease: {preset: sle}`` and may override any field.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from pydantic import model_validator

from abm.params import Section, param

PRESET_DIR = "diseases"


def preset_names() -> list[str]:
    """Names of the packaged disease presets."""
    root = resources.files("abm.biology") / PRESET_DIR
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """Values of a packaged preset (each entry in the file is ``{value: ..., source: ...}``)."""
    if name not in preset_names():
        raise ValueError(f"unknown disease preset {name!r}; allowed: {', '.join(preset_names())}")
    path = resources.files("abm.biology") / PRESET_DIR / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text()) or {}
    return {key: entry["value"] for key, entry in raw.items()}


def preset_sources(name: str) -> dict[str, str]:
    """Sources of a packaged preset's values, by key."""
    path = resources.files("abm.biology") / PRESET_DIR / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text()) or {}
    return {key: entry["source"] for key, entry in raw.items()}


class Disease(Section):
    """Chronic disease drive.  Defaults are the healthy state; presets override them."""

    preset: str = param("healthy", "-", "one of the packaged presets")
    inflammatory_tone: float = param(
        0.05, "a.u./min/voxel", "background IFN-gamma/TNF source of the tissue (stroma, DCs)", ge=0,
        plausible=(0.0, 0.6))
    il6_tone: float = param(
        0.03, "a.u./min/voxel", "background IL-6 source (fibroblasts, endothelium)", ge=0,
        plausible=(0.0, 0.5))
    antigen_drive: float = param(
        0.3, "x", "chronic autoantigen stimulation of effector expansion", ge=0, plausible=(0.0, 2.0))
    systemic_inflammation: float = param(
        0.1, "a.u.", "circulating inflammatory tone seen in blood and lymphoid organs", ge=0,
        plausible=(0.0, 2.0))
    systemic_il6: float = param(0.1, "a.u.", "circulating IL-6 tone", ge=0, plausible=(0.0, 2.0))
    treg_function: float = param(
        1.0, "x", "suppressive capacity of Treg relative to healthy", ge=0, le=1.5)
    inflamed_tissue_volume_ml: float = param(
        50.0, "mL", "volume of inflamed target tissue that competes for homing MSC", gt=0)
    crp_response: float = param(
        1.0, "x", "hepatic CRP response to IL-6 relative to RA/infection (abm.clinical.biomarkers); 1 unless a "
        "preset says otherwise", ge=0, le=2, plausible=(0.2, 1.0))
    autologous_msc_impaired: bool = param(
        False, "-", "whether the patient's own MSC carry the disease's impairment")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"preset": data}
        if isinstance(data, dict):
            name = data.get("preset", "healthy")
            merged = load_preset(name)
            merged.update(data)
            merged["preset"] = name
            return merged
        return data
