"""Plain-language narration of what the model is doing, driven by its event counters and state.

:func:`narrate` reads the events counted in the last app step (``model.events`` differences:
``infusion``, ``msc_licensed``, ``msc_apoptotic``, ``msc_engulfed``, ``lung_msc_engulfed``,
``t_treg_induced`` ...) and the change of the recorded rows over about two simulated days; it never
looks at the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TREND_DAYS = 2.0
"""Window over which state changes (Treg %, M2 fraction ...) are judged."""

# thresholds above the step-to-step noise of a 60x60 grid and a 20 000-cell blood pool
BLOOD_TREG_PP = 0.3
BLOOD_TH17_PP = 0.08
TISSUE_PCT_PP = 1.5
M2_FRACTION = 0.05
INFLAMMATION = 0.03


def _n(events: Mapping[str, int], key: str) -> int:
    return int(events.get(key, 0) or 0)


def _fmt(n: float) -> str:
    return f"{n:,.0f}" if n < 1e5 else f"{n:.1e}"


def _earlier(rows: Sequence[Mapping[str, float]], days: float) -> Mapping[str, float] | None:
    """The latest row at least ``days`` before the last one (else the first row)."""
    if len(rows) < 2:
        return None
    now = rows[-1]["t_days"]
    for row in reversed(rows[:-1]):
        if now - row["t_days"] >= days - 1e-9:
            return row
    return rows[0]


def narrate(events: Mapping[str, int], rows: Sequence[Mapping[str, float]] = (), blockades=None,
            hours: float = 12.0) -> list[str]:
    """Messages about the last ``hours`` of simulated time, most important first.

    Args:
        events: event counts of the last app step (e.g. ``{"msc_licensed": 12}``).
        rows: trajectory rows so far (:func:`abm.record.snapshot`), oldest first.
        blockades: the arm's ``Blockades`` (or None): explains missing events.
        hours: length of the last app step (for the wording).
    """
    out: list[str] = []
    if _n(events, "infusion"):
        arrived = _n(events, "msc_arrived_tissue")
        lung = rows[-1].get("msc_alive_lung", 0.0) if rows else 0.0
        where = [f"{arrived} reached this patch of tissue"] if arrived else []
        if lung:
            where.append(f"about {_fmt(lung)} are alive in the lung")
        out.append("MSC infused" + (": " + "; ".join(where) if where else "") + ".")
    if _n(events, "msc_licensed"):
        out.append(f"MSC licensed by inflammation (IFN-gamma/TNF-alpha): {_n(events, 'msc_licensed')} "
                   "now make IDO and more PGE2.")
    if _n(events, "lung_msc_licensed"):
        out.append("MSC trapped in the lung licensed by inflammation in the blood.")
    if _n(events, "msc_apoptotic"):
        out.append(f"{_n(events, 'msc_apoptotic')} MSC died (apoptosis): infused MSC live about a day.")
    if _n(events, "msc_engulfed"):
        out.append(f"Apoptotic MSC engulfed ({_n(events, 'msc_engulfed')}): macrophages turning M2 and IDO+.")
    elif blockades is not None and blockades.no_efferocytosis and _n(events, "msc_apoptotic"):
        out.append("Efferocytosis blocked: dead MSC are not eaten and simply fall apart.")
    if _n(events, "lung_msc_engulfed"):
        out.append(f"Lung phagocytes engulfed {_fmt(_n(events, 'lung_msc_engulfed'))} apoptotic MSC: they turn "
                   "regulatory (IDO+) and signal to blood T cells.")
    treg, th17 = _n(events, "t_treg_induced"), _n(events, "t_th17_induced")
    if treg > th17 and treg >= 2:
        out.append(f"Naive T cells in the tissue turning Treg ({treg} vs {th17} to Th17).")
    elif th17 > treg and th17 >= 2:
        out.append(f"Naive T cells in the tissue turning Th17 ({th17} vs {treg} to Treg).")
    out.extend(_trends(rows))
    if not out:
        out.append(f"Quiet {hours:g} h: no MSC events; the immune balance drifts slowly.")
    return out


def _trends(rows: Sequence[Mapping[str, float]]) -> list[str]:
    then = _earlier(rows, TREND_DAYS)
    if then is None:
        return []
    now, out = rows[-1], []

    def change(key: str) -> float:
        return float(now.get(key, 0.0)) - float(then.get(key, 0.0))

    def word(d: float) -> str:
        return "rising" if d > 0 else "falling"

    span = f"over the last {now['t_days'] - then['t_days']:.1f} days"
    # (column, threshold, sentence with {dir} rising/falling, {a} before, {b} now)
    trends = (
        ("blood_treg_pct_cd4", BLOOD_TREG_PP, "Treg {dir} in blood: {a:.1f} -> {b:.1f} % of CD4 " + span + "."),
        ("blood_th17_pct_cd4", BLOOD_TH17_PP, "Th17 {dir} in blood: {a:.2f} -> {b:.2f} % of CD4 " + span + "."),
        ("tissue_treg_pct_cd4", TISSUE_PCT_PP, "Treg {dir} in the tissue ({a:.1f} -> {b:.1f} %)."),
        ("tissue_th17_pct_cd4", TISSUE_PCT_PP, "Th17 {dir} in the tissue ({a:.1f} -> {b:.1f} %)."),
    )
    for key, threshold, sentence in trends:
        d = change(key)
        if abs(d) >= threshold:
            out.append(sentence.format(dir=word(d), a=then[key], b=now[key]))
    d = change("m2_fraction")
    if abs(d) >= M2_FRACTION:
        shift = "to M2 (repair, IL-10)" if d > 0 else "back to M1 (inflammatory)"
        out.append(f"Macrophages shifting {shift}: M2 {100 * then['m2_fraction']:.0f} -> "
                   f"{100 * now['m2_fraction']:.0f} %.")
    d = change("inflammation_index")
    if abs(d) >= INFLAMMATION:
        out.append(f"Tissue inflammation {word(d)} ({then['inflammation_index']:.2f} -> "
                   f"{now['inflammation_index']:.2f} a.u.).")
    return out
