"""The parameter table of the biology: every rate, constant and gain with unit and source.

Concentrations of the six fields are dimensionless: one unit is the concentration that gives a
half-maximal response in the main receptor's Hill curve (so ``hill(c) = c**n / (1 + c**n)``).
Secretion rates are therefore in such units per minute per cell; they are the least known
numbers of the model and are marked as assumptions with the observable they were scaled to.

Rates are per hour unless the name says otherwise; half-lives and half-times carry their unit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from abm.params import Section, param

MEDIATORS: tuple[str, ...] = ("ido", "pge2", "tgfb", "il6", "il10", "infl")
"""Field names, in solver order: IDO activity (kynurenine / tryptophan depletion), PGE2,
TGF-beta, IL-6, IL-10 and the 'inflammation' signal (IFN-gamma/TNF-alpha, and IL-1beta for the
``branches.il1b_th17`` row)."""

PROTEIN_D = "Stokes-Einstein for a 20-50 kDa protein in tissue (~100 um2/s); Francis K, Palsson BO 1997 PNAS"
SMALL_D = "small molecule (~350 Da) in tissue, ~5e-6 cm2/s; assumption from Stokes-Einstein"
RANGE = ("assumption: loss set so the communication distance sqrt(D/k) is 100-250 um (Francis & Palsson 1997 "
         "PNAS; Oyler-Yaniv A 2017 Immunity)")


class Mediator(Section):
    """Transport of one field: diffusion and first-order loss (decay + uptake + drainage)."""

    diffusion_um2_per_min: float = param(6000.0, "um2/min", PROTEIN_D, ge=0, plausible=(1500, 30000))
    loss_per_min: float = param(0.27, "1/min", RANGE, gt=0, plausible=(0.05, 2.0))


class Fields(Section):
    """Transport of the six fields (see MEDIATORS)."""

    ido: Mediator = Mediator(diffusion_um2_per_min=30000.0, loss_per_min=0.75)
    pge2: Mediator = Mediator(diffusion_um2_per_min=30000.0, loss_per_min=0.75)
    tgfb: Mediator = Mediator(loss_per_min=0.27)
    il6: Mediator = Mediator(loss_per_min=0.27)
    il10: Mediator = Mediator(loss_per_min=0.27)
    infl: Mediator = Mediator(loss_per_min=0.27)


HALF_MAX_SOURCE = ("definition of the field unit: 1 a.u. is the concentration giving a half-maximal response of "
                   "the main receptor (module docstring); the range allows a less or more sensitive cell type")
HILL_SOURCE = ("assumption: non-cooperative receptor occupancy (Hill power 1); cytokine dose-response curves of "
               "lymphocytes are commonly fitted with Hill powers of 1-2")


def half_max(mediator: str, cells: str) -> Field:
    """Half-maximal concentration (a.u.) of ``mediator`` for the responses of ``cells``."""
    return param(1.0, "a.u.", HALF_MAX_SOURCE, gt=0, plausible=(0.3, 3.0),
                 doc=f"half-maximal {mediator} concentration for {cells}")


def hill_power(mediator: str, cells: str) -> Field:
    """Hill power of the response of ``cells`` to ``mediator``."""
    return param(1.0, "dimensionless", HILL_SOURCE, ge=0.25, le=8, plausible=(1.0, 3.0),
                 doc=f"Hill power of the {mediator} response of {cells}")


def _rates(**kw: float) -> Field:
    return Field(default_factory=lambda: Secretion(**kw))


SECRETION_SOURCE = ("which state secretes what: cited in the cell-type table (abm.biology.cells); magnitude: "
                    "assumption, scaled so a secreting cell's neighbourhood reaches ~1 a.u.")


class Secretion(Section):
    """Secretion of each mediator by one cell in one state (field units per min per cell)."""

    ido: float = param(0.0, "a.u./min/cell", SECRETION_SOURCE, ge=0, plausible_factor=3.0)
    pge2: float = param(0.0, "a.u./min/cell", SECRETION_SOURCE, ge=0, plausible_factor=3.0)
    tgfb: float = param(0.0, "a.u./min/cell", SECRETION_SOURCE, ge=0, plausible_factor=3.0)
    il6: float = param(0.0, "a.u./min/cell", SECRETION_SOURCE, ge=0, plausible_factor=3.0)
    il10: float = param(0.0, "a.u./min/cell", SECRETION_SOURCE, ge=0, plausible_factor=3.0)
    infl: float = param(0.0, "a.u./min/cell", SECRETION_SOURCE, ge=0, plausible_factor=3.0)


class SecretionTable(Section):
    """Secretion rates of each secreting cell state (one entry per row of the cell-type table).

    Which state uses which entry, and the source for what it secretes, is in :mod:`abm.biology.cells`.
    Magnitudes: assumption, scaled so that the local concentration next to a secreting cell is of the
    order of the half-maximal concentration (1 a.u.).
    """

    msc_resting: Secretion = _rates(pge2=3.0, tgfb=1.5)
    msc_licensed: Secretion = _rates(ido=8.0, pge2=12.0, tgfb=3.0)
    th17: Secretion = _rates(infl=1.2)
    treg: Secretion = _rates(tgfb=1.5, il10=1.0)
    itreg: Secretion = _rates(tgfb=0.75, il10=0.5)
    tr1: Secretion = _rates(il10=2.0, tgfb=0.5)
    treg_mem: Secretion = _rates(tgfb=2.25, il10=1.5)
    breg: Secretion = _rates(il10=1.0)
    m1: Secretion = _rates(il6=1.2, infl=1.0)
    m2: Secretion = _rates(il10=1.5, tgfb=1.0)
    ido_phagocyte: Secretion = _rates(ido=2.0, tgfb=0.5)


class MSC(Section):
    """Infused MSC: licensing, survival, clearance."""

    licensing_half_time_h: float = param(
        18.0, "h", "half-rise of IDO/COX-2 after IFN-gamma/TNF-alpha 12-24 h (Krampera M 2006 "
        "Stem Cells; Ren G 2008 Cell Stem Cell)", gt=0, plausible=(12, 24))
    licensing_signal_k: float = param(
        0.5, "a.u.", "assumption: half-maximal licensing at half the inflammation unit", gt=0,
        plausible=(0.1, 2.0))
    survival_half_life_h: float = param(
        6.0, "h", "viability: none viable after 24 h (Eggenhofer E 2012 Front Immunol); the ~24 h lung "
        "half-life of Lee RH 2009 Cell Stem Cell counts donor DNA, dead cells included", gt=0, plausible=(3, 24))
    licensed_survival_factor: float = param(
        1.5, "x", "licensed MSC resist NK lysis (Spaggiari GM 2006 Blood); factor: assumption",
        ge=1, plausible=(1.0, 3.0))
    host_lysis_share: float = param(
        0.7, "-", "share of the MSC death rate that host cytotoxic cells carry in the reference patient "
        "(death = baseline x ((1 - share) + share x patient.host_cytotoxicity)); assumption: MSC apoptosis after "
        "infusion is triggered by recipient cytotoxic cells (Galleu A 2017 Sci Transl Med), yet MSC also die "
        "without them (Eggenhofer E 2012 Front Immunol); no study gives the split", ge=0, le=1,
        plausible=(0.3, 0.95))
    il6_secretion: float = param(
        1.2, "a.u./min/cell", "MSC secrete IL-6, more in co-culture with immune cells (Melief SM 2013 Haematologica: "
        "MSC IL-6 turns monocytes into IL-10-producing cells; contra: Spaggiari GM 2009 Blood, PGE2 and not IL-6 "
        "blocks dendritic-cell maturation); magnitude assumption: as an M1 macrophage (branches.msc_il6)", ge=0,
        plausible=(0.4, 3.6))
    apoptotic_persistence_h: float = param(
        12.0, "h", "assumption: apoptotic bodies not engulfed lose their content (secondary necrosis)",
        gt=0, plausible=(4, 24))
    efferocytosis_per_h: float = param(
        0.5, "1/h", "assumption: engulfment within ~2 h when a phagocyte is adjacent (Galleu A 2017 "
        "Sci Transl Med: rapid uptake by recipient phagocytes)", ge=0, plausible=(0.1, 2.0))
    efferocytosis_radius_voxels: int = param(
        2, "voxels", "assumption: macrophage reach ~40 um", ge=1, le=5, plausible=(1, 3))
    contact_radius_voxels: int = param(
        1, "voxels", "assumption: contact means an adjacent voxel (Moore neighbourhood)", ge=1, le=3, plausible=(1, 2))
    infl_hill: float = hill_power("infl", "MSC")


class TCells(Section):
    """CD4 T-cell fate: induction, plasticity, proliferation, death (tissue and blood alike)."""

    treg_induction_per_h: float = param(
        0.0007, "1/h", "max naive->iTreg rate under saturating TGF-beta without IL-6 (Zhou L 2008 "
        "Nature); magnitude calibrated to BASE-HC-TREG (blood Treg 5-10 %)", ge=0, plausible=(0.0002, 0.005))
    kynurenine_treg_boost: float = param(
        1.5, "x", "kynurenine via AhR favours Foxp3 (Mezrich JD 2010 J Immunol); size assumption",
        ge=0, plausible=(0.0, 4.0))
    il6_blocks_treg: float = param(
        0.9, "fraction", "IL-6 inhibits TGF-beta-induced Foxp3 (Bettelli E 2006 Nature)", ge=0, le=1,
            plausible=(0.5, 1.0))
    th17_induction_per_h: float = param(
        0.0002, "1/h", "max naive->Th17 rate with IL-6 and low TGF-beta (Zhou L 2008 Nature; Bettelli "
        "E 2006 Nature); magnitude calibrated to the BASE-* Th17 rows", ge=0, plausible=(0.00005, 0.002))
    tgfb_th17_low_k: float = param(
        0.05, "a.u.", "Th17 needs a little TGF-beta (Zhou L 2008 Nature); assumption", gt=0, plausible=(0.01, 0.2))
    tgfb_th17_high_k: float = param(
        2.0, "a.u.", "high TGF-beta favours Foxp3 over RORgt (Zhou L 2008 Nature); assumption", gt=0,
        plausible=(0.5, 5.0))
    pge2_low_support: float = param(
        1.0, "x", "low PGE2 supports Th17 via EP2/EP4 (Boniface K 2009 J Exp Med); assumption", ge=0,
        plausible=(0.0, 3.0))
    pge2_low_k: float = param(0.1, "a.u.", "assumption: supportive range of PGE2", gt=0, plausible=(0.03, 0.3))
    pge2_suppress_k: float = param(
        1.0, "a.u.", "crossover: high PGE2 suppresses Th17 (Duffy MM 2011 Eur J Immunol)", gt=0,
        plausible=(0.3, 3.0))
    ido_blocks_th17: float = param(
        0.7, "fraction", "IDO/kynurenine oppose Th17 induction and Treg->Th17 reprogramming (Baban B "
        "2009 J Immunol; Mezrich JD 2010 J Immunol); size assumption", ge=0, le=1, plausible=(0.3, 0.95))
    th17_expansion_per_h: float = param(
        0.005, "1/h", "antigen-driven effector expansion, doubling ~2.5 d at saturating inflammation; "
        "assumption", ge=0, plausible=(0.004, 0.03))
    th17_niche_half_fraction: float = param(
        0.05, "fraction of CD4", "assumption: competition for antigen-presenting niches halves effector "
        "expansion when Th17 reach 5 % of CD4 (keeps expansion bounded, as clonal competition does)", gt=0,
        plausible=(0.02, 0.2))
    tryptophan_arrest: float = param(
        0.8, "fraction", "tryptophan depletion arrests effector T proliferation (Munn DH 1999 J Exp Med; "
        "Meisel R 2004 Blood)", ge=0, le=1, plausible=(0.4, 0.95))
    treg_suppression_max: float = param(
        0.8, "fraction", "Treg suppress Th17 expansion by IL-10 and contact (Huber S 2011 Immunity); "
        "size assumption", ge=0, le=1, plausible=(0.4, 0.95))
    treg_contact_k: float = param(
        1.0, "suppressor neighbours (Treg or viable MSC)", "assumption: one adjacent suppressor (a Treg or a "
        "viable MSC; the name is historical) gives half-maximal contact suppression", gt=0, plausible=(0.5, 3.0))
    treg_expansion_per_h: float = param(
        0.0036, "1/h", "human Treg doubling ~8 d (Vukmanovic-Stejic M 2006 J Clin Invest)", ge=0,
        plausible=(0.002, 0.006))
    treg_il2_k: float = param(
        0.08, "fraction of CD4", "Treg proliferation limited by IL-2 competition (Setoguchi R 2005 J Exp "
        "Med); half-saturation: assumption", gt=0, plausible=(0.03, 0.2))
    th17_to_treg_per_h: float = param(
        0.0005, "1/h", "Th17 trans-differentiate to regulatory cells in resolution (Gagliani N 2015 "
        "Nature); rate assumption", ge=0, plausible=(0.0, 0.002))
    treg_to_th17_per_h: float = param(
        0.0005, "1/h", "human Treg can turn IL-17+ under IL-6 (Koenen HJ 2008 Blood); rate assumption",
        ge=0, plausible=(0.0, 0.002))
    naive_half_life_days: float = param(
        60.0, "days", "circulating naive/memory CD4 pool turnover; assumption within reported months",
        gt=0, plausible=(30, 180))
    th17_half_life_days: float = param(
        8.0, "days", "effector/memory Th17 turnover; assumption", gt=0, plausible=(3, 20))
    th17_memory_half_life_days: float = param(
        150.0, "days", "memory CD4 T cells live months (~0.4 y; Vrisekoop N 2008 PNAS, to be checked against the "
        "original); Th17 memory renews itself on IL-23/IL-1beta (Kryczek I 2011 Sci Transl Med; Muranski P 2011 "
        "Immunity) (branches.th17_memory)", gt=0, plausible=(60.0, 300.0))
    treg_half_life_days: float = param(
        8.5, "days", "human Treg turnover balances ~8 d doubling (Vukmanovic-Stejic M 2006 J Clin "
        "Invest)", gt=0, plausible=(5, 20))
    itreg_foxp3_half_life_days: float = param(
        5.0, "days", "human TGF-beta-induced Treg lose FOXP3 within days (Tran DQ 2007 Blood); their TSDR stays "
        "methylated (Floess S 2007 PLoS Biol); value assumption (branches.treg_commitment)", gt=0,
        plausible=(2.0, 14.0))
    itreg_commitment_per_h: float = param(
        0.006, "1/h", "induced Treg that keep the inducing signal become committed (TSDR demethylated; Floess S "
        "2007 PLoS Biol; MSC induce demethylation: Khosravi M 2018 Stem Cell Res Ther); ~1 week under full "
        "TGF-beta: assumption", ge=0, plausible=(0.001, 0.02))
    th17_to_tr1_per_h: float = param(
        0.002, "1/h", "Th17 turn into IL-10+ FOXP3- Tr1 as inflammation resolves (Gagliani N 2015 Nature); rate "
        "assumption (the first chapter's Th17 -> Treg rate)", ge=0, plausible=(0.0, 0.008))
    kynurenine_tr1_boost: float = param(
        1.0, "x", "AhR ligands (kynurenine) raise Tr1 differentiation (Gandhi R 2010 Nat Immunol); size "
        "assumption", ge=0, plausible=(0.0, 3.0))
    il1b_th17_boost: float = param(
        1.0, "x", "IL-1beta, carried by the inflammatory tone (M1 macrophages, inflamed tissue), drives human Th17 "
        "induction with IL-6 (Acosta-Rodriguez EV 2007 Nat Immunol; Manel N 2008 Nat Immunol; Volpe E 2008 Nat "
        "Immunol); size assumption (branches.il1b_th17)", ge=0, plausible=(0.0, 3.0))
    tr1_half_life_days: float = param(
        8.0, "days", "assumption: Tr1 turn over as effector/memory CD4 do", gt=0, plausible=(3.0, 20.0))
    treg_memory_formation_per_h: float = param(
        0.001, "1/h", "Treg activated by self antigen in the tissue become resident memory Treg (Rosenblum MD 2011 "
        "Nature, mouse skin); rate assumption: about one in ten tissue Treg over their week of residence "
        "(branches.treg_memory)", ge=0, plausible=(0.0002, 0.005))
    treg_memory_half_life_days: float = param(
        60.0, "days", "resident memory Treg stay in the tissue after the inflammation resolves (Rosenblum MD 2011 "
        "Nature); human skin holds them (Sanchez Rodriguez R 2014 J Clin Invest); value assumption: weeks to "
        "months (branches.treg_memory)", gt=0, plausible=(20.0, 180.0))
    treg_memory_egress_per_h: float = param(
        0.0, "1/h", "resident memory Treg do not return to blood (Rosenblum MD 2011 Nature); assumption: none, up "
        "to the rate of other T cells (trafficking.t_egress_per_h)", ge=0, plausible=(0.0, 0.004))
    treg_memory_expansion_per_h: float = param(
        0.0002, "1/h", "assumption: resting resident memory Treg divide slower than they die (doubling ~5 months), so "
        "formation keeps the pool and it does not outgrow the tissue (branches.treg_memory)", ge=0,
        plausible=(0.0, 0.001))
    treg_memory_recall_boost: float = param(
        2.0, "x", "memory Treg expand faster when antigen returns (Rosenblum MD 2011 Nature); size assumption; read "
        "through the inflammatory tone", ge=0, plausible=(0.0, 5.0))
    motility_um2_per_min: float = param(
        60.0, "um2/min", "T-cell motility coefficient in lymphoid tissue (Miller MJ 2002 Science)", ge=0,
            plausible=(20, 120))
    tgfb_half_max: float = half_max("tgfb", "T cells")
    ido_half_max: float = half_max("ido", "T cells")
    il6_half_max: float = half_max("il6", "T cells")
    infl_half_max: float = half_max("infl", "T cells")
    il10_half_max: float = half_max("il10", "T cells")
    tgfb_hill: float = hill_power("tgfb", "T cells")
    ido_hill: float = hill_power("ido", "T cells")
    il6_hill: float = hill_power("il6", "T cells")
    infl_hill: float = hill_power("infl", "T cells")
    il10_hill: float = hill_power("il10", "T cells")
    pge2_hill: float = hill_power("pge2", "T cells")
    contact_hill: float = hill_power("suppressor contact", "T cells")


class Macrophages(Section):
    """Macrophage polarisation and turnover."""

    m1_to_m2_per_h: float = param(
        0.03, "1/h", "PGE2 via EP2/EP4 drives IL-10-producing macrophages (Nemeth K 2009 Nat Med); IL-10 "
        "and TGF-beta sustain M2 (Mantovani A 2004); rate assumption", ge=0, plausible=(0.005, 0.1))
    tgfb_m2_weight: float = param(
        0.5, "fraction", "assumption: TGF-beta sustains the alternative state less than IL-10 or PGE2 "
        "(Mantovani A 2004 Trends Immunol)", ge=0, le=1, plausible=(0.2, 1.0))
    m2_to_m1_per_h: float = param(
        0.01, "1/h", "IFN-gamma/TNF drive classical activation (Murray PJ 2014 Immunity); rate "
        "assumption", ge=0, plausible=(0.002, 0.05))
    ido_phenotype_half_life_days: float = param(
        30.0, "days", "assumption: IDO+ regulatory phenotype after efferocytosis (Galleu A 2017) is "
        "kept for weeks; duration not measured", gt=0, plausible=(7, 120))
    lifespan_half_life_days: float = param(
        40.0, "days", "assumption: tissue macrophages live weeks to months",
        gt=0, plausible=(14, 120))
    initial_m1_fraction: float = param(
        0.5, "fraction", "initial condition only, settled by the burn-in: half M1, half M2", ge=0, le=1,
        plausible=(0.3, 0.7))
    monocyte_m1_fraction: float = param(
        0.7, "fraction", "assumption: monocyte-derived recruits start inflammatory in inflamed tissue",
        ge=0, le=1, plausible=(0.5, 0.9))
    motility_um2_per_min: float = param(
        2.0, "um2/min", "assumption: tissue macrophages are nearly sessile", ge=0, plausible=(0.5, 10))
    pge2_half_max: float = half_max("pge2", "macrophages")
    il10_half_max: float = half_max("il10", "macrophages")
    tgfb_half_max: float = half_max("tgfb", "macrophages")
    infl_half_max: float = half_max("infl", "macrophages")
    pge2_hill: float = hill_power("pge2", "macrophages")
    il10_hill: float = hill_power("il10", "macrophages")
    tgfb_hill: float = hill_power("tgfb", "macrophages")
    infl_hill: float = hill_power("infl", "macrophages")


class BCells(Section):
    """B-cell activation, plasma-cell differentiation and autoantibody."""

    plasma_differentiation_per_h: float = param(
        0.0003, "1/h", "assumption: inflammation-driven differentiation over days", ge=0,
        plausible=(0.0001, 0.003))
    treg_suppression_max: float = param(
        0.7, "fraction", "Treg suppress B cells directly (Lim HW 2005 J Immunol)", ge=0, le=1, plausible=(0.3, 0.9))
    treg_contact_k: float = param(
        1.0, "suppressor neighbours (Treg or viable MSC)", "assumption: one adjacent suppressor (a Treg or a "
        "viable MSC; the name is historical) gives half-maximal suppression", gt=0, plausible=(0.5, 3.0))
    msc_inhibition_max: float = param(
        0.8, "fraction", "MSC inhibit B proliferation and plasma differentiation by soluble factors "
        "(Corcione A 2006 Blood); PGE2 field used as the proxy: assumption", ge=0, le=1, plausible=(0.4, 0.95))
    plasma_half_life_days: float = param(
        30.0, "days", "mix of short- and long-lived plasma cells (Slifka MK 1998 Immunity); assumption",
        gt=0, plausible=(5, 120))
    b_half_life_days: float = param(40.0, "days", "assumption: mature B-cell turnover weeks", gt=0, plausible=(20, 100))
    breg_induction_per_h: float = param(
        0.002, "1/h", "MSC induce IL-10+ CD24hiCD38hi regulatory B cells (Franquesa M 2015 Stem Cells), with "
        "TGF-beta and away from inflammation (Luk F 2017 Front Immunol); rate assumption (branches.breg)", ge=0,
        plausible=(0.0005, 0.008))
    ido_inhibition_max: float = param(
        0.8, "fraction", "licensed MSC inhibit plasmablast formation through IDO (tryptophan depletion) in the "
        "inflamed state (Luk F 2017 Front Immunol); size assumption (branches.b_ido_brake)", ge=0, le=1,
        plausible=(0.4, 1.0))
    antibody_per_plasma_per_day: float = param(
        1.0, "index/plasma cell/day", "assumption: arbitrary index scale", ge=0, plausible=(0.5, 2.0))
    antibody_half_life_days: float = param(
        21.0, "days", "IgG half-life ~3 weeks (Morell A 1970 J Clin Invest)", gt=0, plausible=(14, 28))
    motility_um2_per_min: float = param(
        30.0, "um2/min", "B cells move more slowly than T cells (Miller MJ 2002 Science)", ge=0, plausible=(10, 60))
    infl_half_max: float = half_max("infl", "B cells")
    pge2_half_max: float = half_max("pge2", "B cells")
    ido_half_max: float = half_max("ido", "B cells")
    tgfb_half_max: float = half_max("tgfb", "B cells")
    infl_hill: float = hill_power("infl", "B cells")
    pge2_hill: float = hill_power("pge2", "B cells")
    ido_hill: float = hill_power("ido", "B cells")
    tgfb_hill: float = hill_power("tgfb", "B cells")
    contact_hill: float = hill_power("suppressor contact", "B cells")


class Trafficking(Section):
    """Exchange of cells between blood and the modelled tissue."""

    t_ingress_per_mm2_per_h: float = param(
        1.0, "cells/mm2/h", "assumption: sets tissue CD4 density near the initial density", ge=0, plausible=(0.5, 2.0))
    t_ingress_inflammation_gain: float = param(
        0.5, "x per a.u.", "inflamed endothelium recruits more T cells; assumption", ge=0, plausible=(0.0, 2.0))
    th17_homing_bias: float = param(
        3.0, "x", "Th17 home to inflamed tissue via CCR6-CCL20 (Hirota K 2007 J Exp Med); size "
        "assumption", ge=0, plausible=(1.0, 6.0))
    t_egress_per_h: float = param(
        0.004, "1/h", "assumption: tissue residence ~1 week before return via lymph", ge=0, plausible=(0.002, 0.01))
    b_ingress_per_mm2_per_h: float = param(0.07, "cells/mm2/h", "assumption", ge=0, plausible=(0.03, 0.15))
    tissue_to_blood_weight: float = param(
        0.2, "pool cells per tissue cell", "assumption: how much the inflamed tissue's output "
        "weighs in the blood pool", ge=0, plausible=(0.05, 0.5))


class Lung(Section):
    """The lung compartment: trapped MSC and the phagocytes that clear them."""

    phagocytes_per_kg: float = param(
        3.0e7, "cells/kg", "assumption: ~2e9 alveolar + interstitial macrophages in an adult lung", gt=0,
            plausible=(1e7, 1e8))
    phagocytes_per_msc: float = param(
        1.0, "phagocytes/MSC", "assumption: each apoptotic MSC is engulfed by one phagocyte", gt=0,
            plausible=(0.5, 3.0))
    regulatory_half_life_days: float = param(
        45.0, "days", "alveolar macrophages persist for months to years (Eguiluz-Gracia I 2016 "
        "Thorax); how long they keep the IDO+ phenotype is an assumption", gt=0, plausible=(10, 180))
    inflammation_reversal_gain: float = param(
        1.0, "x per a.u.", "assumption: systemic inflammation reprograms regulatory phagocytes "
        "(the disease relights the system)", ge=0, plausible=(0.0, 4.0))
    infl_half_max: float = half_max("infl", "lung phagocytes")
    infl_hill: float = hill_power("infl", "lung phagocytes")


class Systemic(Section):
    """Well-mixed levels seen by circulating CD4 T cells (blood + lymphoid + lung)."""

    initial_th17_fraction: float = param(
        0.01, "fraction of CD4", "initial condition only, settled by the burn-in: a healthy-like start (the trial "
        "findings' BASE-HC-TREG and BASE-SLE-TH17 rows put healthy blood Th17 near 1 %)", ge=0, le=1,
        plausible=(0.005, 0.03))
    initial_treg_fraction: float = param(
        0.07, "fraction of CD4", "initial condition only, settled by the burn-in: healthy blood Treg ~5-10 % of CD4 "
        "(BASE-HC-TREG row of the trial findings)", ge=0, le=1, plausible=(0.04, 0.1))
    pool_cells: int = param(
        20000, "cells", "assumption: representative CD4 sample, like 2e4 flow-cytometry events", ge=1000,
            plausible=(10000, 50000))
    regulatory_phagocyte_ido: float = param(
        30.0, "a.u. per unit fraction", "kynurenine circulates (assumption: gain); IDO+ phagocytes "
        "after MSC efferocytosis (Galleu A 2017)", ge=0, plausible=(5, 100))
    regulatory_phagocyte_tgfb: float = param(
        10.0, "a.u. per unit fraction", "assumption: gain of TGF-beta/IL-10 from regulatory "
        "phagocytes", ge=0, plausible=(0, 50))
    lung_msc_gain: float = param(
        0.5, "a.u. per (1e6 MSC/kg x a.u./min/cell)", "assumption: viable lung MSC secrete into the "
        "pulmonary circulation while they live (hours)", ge=0, plausible=(0.0, 2.0))
    treg_tgfb_gain: float = param(
        2.0, "a.u. per unit Treg fraction", "Treg-derived TGF-beta and IL-10 induce more Treg "
        "(infectious tolerance; Qin S 1993 Science; Andersson J 2008 J Exp Med); gain assumption",
        ge=0, plausible=(0, 6))
    tissue_inflammation_gain: float = param(
        0.3, "x", "assumption: inflamed tissue raises systemic inflammation and IL-6", ge=0, plausible=(0.1, 1.0))
    basal_tgfb: float = param(
        0.15, "a.u.", "assumption: platelet/latent TGF-beta activity in lymphoid tissue", ge=0, plausible=(0.05, 0.4))


class Concomitant(Section):
    """Effects of concomitant drugs, as multipliers on rates."""

    cyclophosphamide_proliferation: float = param(
        0.5, "x", "alkylating agent reduces lymphocyte proliferation; assumption", ge=0, le=1, plausible=(0.2, 0.8))
    steroid_inflammation: float = param(
        0.6, "x", "glucocorticoids reduce IL-6/TNF production; assumption", ge=0, le=1, plausible=(0.3, 0.9))
    dmard_inflammation: float = param(
        0.8, "x", "methotrexate-type DMARD lowers inflammatory tone; assumption", ge=0, le=1, plausible=(0.5, 0.95))


class Delivery(Section):
    """The mapping from a clinical dose to arriving MSC (explicit, see docs/treatment.md)."""

    lung_trap_fraction_iv: float = param(
        0.95, "fraction", "Jones OY, McCurdy D 2022 Front Pediatr (review): >95% trapped in the lung; Lee RH 2009 "
            "Cell Stem Cell", ge=0,
        le=1, plausible=(0.8, 0.99))
    homing_fraction_to_inflamed: float = param(
        0.1, "fraction of escaping cells", "assumption: inflamed tissue attracts part of the cells "
        "that pass the lung (Lee RH 2009: <1000 cells reach six other tissues)", ge=0, le=1, plausible=(0.01, 0.3))
    intra_arterial_first_pass: float = param(
        0.3, "fraction", "assumption: first-pass retention in the target organ after intra-arterial "
        "delivery", ge=0, le=1, plausible=(0.1, 0.6))
    local_injection_volume_ml: float = param(
        2.0, "mL", "assumption: volume into which a local injection disperses", gt=0, plausible=(0.5, 10.0))
    slice_thickness_um: float = param(
        20.0, "um", "the 2-D grid is one voxel thick", gt=0, plausible=(10.0, 40.0))
    passage_reference: int = param(
        4, "passages", "passage up to which potency is full (Jones OY, McCurdy D 2022 Front Pediatr (review): "
        "protocols use passage < 6)", ge=1, le=15, plausible=(3, 6))
    passage_potency_loss: float = param(
        0.05, "per passage beyond passage_reference", "assumption: replicative senescence lowers potency "
        "(Jones OY, McCurdy D 2022 Front Pediatr (review): protocols use passage < 6)", ge=0, le=0.2,
        plausible=(0.0, 0.15))
    autologous_disease_potency: float = param(
        0.6, "x", "SLE patients' own MSC show senescence and normal-to-impaired immunomodulation "
        "(Jones OY, McCurdy D 2022 Front Pediatr (review), refs 35-37); factor assumption", ge=0, le=1,
            plausible=(0.3, 1.0))


class Damage(Section):
    """The damage loop (:mod:`abm.biology.damage`): a slow disease state D that effector activity builds and
    repair removes, and that carries part of the disease's drive.  D = 1 is the untreated steady state the
    burn-in reaches (the preset's calibration); the loop is a hypothesis, off by default."""

    enabled: bool = param(
        False, "-", "assumption: a switch (hypothesis of an endogenous disease state, cf. Hong T 2011 PLoS Comput "
        "Biol for multistable Th17/Treg circuits); off = constant disease tones, the first chapter's model")
    repair_days: float = param(
        60.0, "days", "assumption: tissue repair and clearance of autoantigen/immune complexes over weeks to "
        "months", gt=0, plausible=(14.0, 180.0))
    feedback_share: float = param(
        0.5, "-", "assumption: share of the disease's antigen drive and inflammatory/IL-6 tones carried by the "
        "damage at the untreated steady state (the rest is constant)", ge=0, le=1, plausible=(0.0, 0.9))
    activity_half_max: float = param(
        0.5, "x untreated activity", "assumption: effector activity (relative to the untreated steady state) "
        "that makes damage at half its maximal rate", gt=0, plausible=(0.2, 0.9))
    activity_hill: float = param(
        3.0, "-", "assumption: cooperativity of damage production; above ~2 the loop can hold two steady states "
        "(Hong T 2011 PLoS Comput Biol)", ge=1, le=8, plausible=(1.0, 6.0))
    th17_weight: float = param(
        0.5, "-", "assumption: weight of tissue Th17 (IL-17-driven injury) in effector activity", ge=0,
        plausible=(0.2, 0.8))
    autoantibody_weight: float = param(
        0.25, "-", "assumption: weight of autoantibody/immune complexes in effector activity", ge=0,
        plausible=(0.0, 0.5))
    inflammation_weight: float = param(
        0.25, "-", "assumption: weight of tissue inflammation (IFN-gamma/TNF) in effector activity", ge=0,
        plausible=(0.0, 0.5))
    reference_days: float = param(
        20.0, "days", "assumption: averaging time of the untreated activity at the end of the burn-in (the "
        "reference D = 1 stands for); below half the burn-in, long enough to average the noise of a few dozen "
        "tissue Th17 (10 days left a 15 % SD between seeds)", gt=0, plausible=(10.0, 40.0))

    @model_validator(mode="after")
    def _weights(self) -> Damage:
        if self.th17_weight + self.autoantibody_weight + self.inflammation_weight <= 0:
            raise ValueError("biology.damage: th17_weight, autoantibody_weight and inflammation_weight must not "
                             "all be 0 (effector activity needs at least one)")
        return self


class Plasma(Section):
    """The plasma pool of each mediator (:mod:`abm.biology.plasma`): what a blood draw measures, apart from
    the lymphoid-local level that acts on circulating T cells.  Steady plasma level = background + spillover x
    lymphoid level; it follows with each mediator's plasma half-life.  Units: a.u. of the lymphoid scale."""

    spillover: float = param(
        0.2, "x", "assumption: plasma level per unit of lymphoid-local level (dilution of lymphoid and tissue "
        "mediators into the blood volume)", ge=0, plausible=(0.05, 1.0))
    ido_background: float = param(
        0.5, "a.u.", "assumption: constitutive kynurenine (hepatic TDO) sets most of plasma kynurenine; "
        "kynurenine/tryptophan 0.043 in SLE vs 0.027 healthy (PMID 10834318, to be checked against the original)", ge=0,
        plausible=(0.2, 1.5))
    pge2_background: float = param(
        0.02, "a.u.", "assumption: PGE2 barely reaches plasma (inactivated in one pass through the lung, "
        "Ferreira SH & Vane JR 1967 Nature)", ge=0, plausible=(0.0, 0.1))
    tgfb_background: float = param(
        2.0, "a.u.", "assumption: plasma TGF-beta is mostly latent protein released by platelets (~330 pM, to be "
        "checked against the original; here ~10x the lymphoid-local signal)", ge=0, plausible=(0.5, 6.0))
    il6_background: float = param(
        0.02, "a.u.", "assumption: healthy plasma IL-6 is a few pg/mL", ge=0, plausible=(0.0, 0.1))
    il10_background: float = param(
        0.02, "a.u.", "assumption: healthy plasma IL-10 is near detection", ge=0, plausible=(0.0, 0.1))
    infl_background: float = param(
        0.02, "a.u.", "assumption: healthy plasma TNF/IFN-gamma are near detection", ge=0, plausible=(0.0, 0.1))
    ido_half_life_h: float = param(
        2.0, "h", "assumption: plasma kynurenine turns over in hours", gt=0, plausible=(0.5, 8.0))
    pge2_half_life_h: float = param(
        0.02, "h", "PGE2 lasts seconds to a minute in blood (Ferreira SH & Vane JR 1967 Nature)", gt=0,
        plausible=(0.005, 0.1))
    tgfb_half_life_h: float = param(
        1.6, "h", "latent TGF-beta1 ~100 min in plasma, active ~2 min (Wakefield LM 1990 J Clin Invest)", gt=0,
        plausible=(0.03, 3.0))
    il6_half_life_h: float = param(
        1.0, "h", "assumption: IL-6 is cleared from plasma within hours", gt=0, plausible=(0.25, 4.0))
    il10_half_life_h: float = param(
        3.5, "h", "IL-10 given IV: terminal half-life 2.7-4.5 h (Huhn RD 1996 Blood)", gt=0, plausible=(2.7, 4.5))
    infl_half_life_h: float = param(
        0.3, "h", "assumption: TNF-alpha lasts minutes in plasma (15-20 min)", gt=0, plausible=(0.1, 1.0))


class Relay(Section):
    """Efferocytes (``biology.persistence: relay``): monocytes that engulfed apoptotic MSC in the lung, leave
    it and signal where they go for days (de Witte SFH 2018 Stem Cells: monocytes take up infused MSC and
    move from the lung; dead MSC alone sufficed in four mouse models, PMC8280232, Signal Transduct Target Ther
    2021).
    Their gains are on the scale of the long-lived phagocyte's (a.u. per unit efferocytes / lung phagocytes)."""

    efferocyte_half_life_days: float = param(
        3.0, "days", "circulating monocytes live ~1 (classical), ~4 (intermediate) and ~7 days (non-classical) "
        "(Patel AA 2017 J Exp Med); efferocytes as a mix: assumption", gt=0, plausible=(1.0, 10.0))
    ido_gain: float = param(
        30.0, "a.u. per unit fraction", "assumption: kynurenine of IDO+ efferocytes in lymphoid tissue (the long-lived "
        "phagocyte's gain, systemic.regulatory_phagocyte_ido)", ge=0, plausible=(5.0, 100.0))
    il10_gain: float = param(
        10.0, "a.u. per unit fraction", "assumption: IL-10 of efferocytes (engulfing apoptotic cells induces IL-10; "
        "Voll RE 1997 Nature)", ge=0, plausible=(0.0, 50.0))
    tgfb_gain: float = param(
        10.0, "a.u. per unit fraction", "assumption: TGF-beta of efferocytes (Fadok VA 1998 J Clin Invest: engulfing "
        "apoptotic cells makes macrophages secrete TGF-beta and PGE2)", ge=0, plausible=(0.0, 50.0))
    pge2_gain: float = param(
        2.0, "a.u. per unit fraction", "assumption: PGE2 of efferocytes (Fadok VA 1998 J Clin Invest)", ge=0,
        plausible=(0.0, 10.0))
    tissue_share: float = param(
        0.1, "fraction", "assumption: share of efferocytes that reach the inflamed tissue (the rest go to lymph "
        "nodes, spleen and liver)", ge=0, le=1, plausible=(0.01, 0.3))


class Branches(Section):
    """Switches of the rule table's alternative rows (its ``when`` column): each turns on a branch of the
    biology and turns off the first chapter's rule it corrects.  All off = the first chapter's model."""

    treg_commitment: bool = param(
        False, "-", "assumption: a switch; on: naive T cells become unstable induced Treg (iTreg: lose FOXP3 in "
        "days, IL-6 turns them to Th17), committed (stable) Treg only when the signal persists (Tran DQ 2007 "
        "Blood; Floess S 2007 PLoS Biol); off: TGF-beta-induced Treg are stable at once")
    tr1: bool = param(
        False, "-", "assumption: a switch; on: Th17 turn into IL-10+ FOXP3- Tr1, not counted as Treg (Gagliani N "
        "2015 Nature); off: Th17 turn into Treg")
    th17_memory: bool = param(
        False, "-", "assumption: a switch; on: Th17 are a long-lived memory pool (half-life months, "
        "tcells.th17_memory_half_life_days; Kryczek I 2011 Sci Transl Med); off: effector turnover "
        "(tcells.th17_half_life_days)")
    breg: bool = param(
        False, "-", "assumption: a switch; on: B cells become IL-10+ regulatory B cells under TGF-beta away from "
        "inflammation (Franquesa M 2015 Stem Cells; Luk F 2017 Front Immunol)")
    b_ido_brake: bool = param(
        False, "-", "assumption: a switch; on: IDO (tryptophan depletion), not PGE2, is the MSC brake on "
        "plasma-cell differentiation in the inflamed state (Luk F 2017 Front Immunol); off: PGE2 (Corcione A "
        "2006 Blood)")
    il1b_th17: bool = param(
        False, "-", "assumption: a switch; on: the inflammatory tone (IL-1beta) raises human Th17 induction "
        "(tcells.il1b_th17_boost; Acosta-Rodriguez EV 2007 Nat Immunol; Volpe E 2008 Nat Immunol); off: IL-6 and "
        "low TGF-beta alone (Zhou L 2008 Nature)")
    treg_memory: bool = param(
        False, "-", "assumption: a switch; on: committed Treg in the inflamed tissue become resident memory Treg "
        "(FOXP3+, counted in tissue Treg %, never in blood), long-lived and more suppressive, which expand again "
        "when inflammation returns (Rosenblum MD 2011 Nature)")
    msc_il6: bool = param(
        False, "-", "assumption: a switch; on: resting and licensed MSC secrete IL-6 (msc.il6_secretion; Melief SM "
        "2013 Haematologica), which feeds the model's IL-6 logic both ways (Th17 induction up, Treg induction and "
        "Th17 -> Treg/Tr1 down); off: MSC make no IL-6")


class Biology(Section):
    """All biological parameters, grouped by the module whose rules use them."""

    persistence: Literal["long_lived_phagocyte", "relay"] = param(
        "long_lived_phagocyte", "-", "assumption: a switch between hypotheses of what carries the lasting effect: "
        "long-lived IDO+ lung phagocytes that keep signalling to blood T cells (lung.regulatory_half_life_days), "
        "or a relay of short-lived efferocytes (biology.relay) handing over to the T and B cells")

    fields: Fields = Field(default_factory=Fields)
    secretion: SecretionTable = Field(default_factory=SecretionTable)
    msc: MSC = Field(default_factory=MSC)
    tcells: TCells = Field(default_factory=TCells)
    macrophages: Macrophages = Field(default_factory=Macrophages)
    bcells: BCells = Field(default_factory=BCells)
    trafficking: Trafficking = Field(default_factory=Trafficking)
    lung: Lung = Field(default_factory=Lung)
    systemic: Systemic = Field(default_factory=Systemic)
    concomitant: Concomitant = Field(default_factory=Concomitant)
    delivery: Delivery = Field(default_factory=Delivery)
    damage: Damage = Field(default_factory=Damage)
    plasma: Plasma = Field(default_factory=Plasma)
    relay: Relay = Field(default_factory=Relay)
    branches: Branches = Field(default_factory=Branches)
