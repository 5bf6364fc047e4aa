"""The model: a ``mesa.Model`` whose step reads like the step order of the design.

    treatments -> trafficking -> secretion -> field solve -> sensing + fate decisions
    (MSC, T cells, macrophages, B cells; each module senses its own cells) -> proliferation/death
    (inside each fate step) -> compartments (lung, blood) -> motility -> record

Time: ``t_h`` counts hours from the first treatment day (negative during burn-in); one step is
``simulation.dt_h`` hours (Mesa's own ``model.time`` counts steps).  All randomness comes from
``self.rngs``: one numpy Generator per process (:mod:`abm.engine.streams`), spawned from one seed.
"""

from __future__ import annotations

from collections import Counter

import mesa
import numpy as np

from abm.biology import cells, compartments, damage, dosing, mechanisms, plasma, secretion, tissue
from abm.biology.levels import Levels
from abm.biology.rules import bcells, macrophages, msc, tcells
from abm.biology.rules import compiled as rules_compiled
from abm.biology.rules.evaluate import RuleSet
from abm.config import MEDIATORS, Scenario, Treatment
from abm.engine import interrupt, jit
from abm.engine.fields import CoarsenedSolver, SteadyStateSolver
from abm.engine.space import TissueSpace
from abm.engine.streams import Streams

UNTREATED = Treatment(control="untreated")


class MSCModel(mesa.Model):
    """MSC immunomodulation in a patch of inflamed tissue linked to blood and lung.

    Args:
        scenario: validated scenario.
        rng: seed material (int or SeedSequence) for the model's random streams.
        arm: treatment of this run; ``None`` means untreated (burn-in).
    """

    def __init__(self, scenario: Scenario, rng=None, arm: Treatment | None = None):
        self.rngs = Streams(rng)
        super().__init__(rng=int(self.rngs.setup.integers(2**63)))
        self.cfg = scenario
        self.bio = scenario.biology
        self.disease = scenario.disease
        self.patient = scenario.patient
        self.dt_h = scenario.simulation.dt_h
        self.rules = RuleSet(self.bio, self.disease, patient=self.patient)
        """The rule table compiled against this scenario's parameters (every hazard of the biology)."""
        self.engine = jit.engine()
        """``compiled`` or ``numpy`` (:mod:`abm.engine.jit`): which twin of each step function runs."""
        compiled = self.engine == "compiled"
        self.programs = rules_compiled.programs(self) if compiled else {}
        """The rule table as coefficient arrays per cell type (compiled engine only)."""
        self._blood_step = rules_compiled.blood_step if compiled else compartments.step_blood
        self._ingress_states = rules_compiled.ingress_states if compiled else compartments.draw_ingress_states
        self.blood_plan = None
        """The blood pool's fates per T-cell state as arrays (compiled engine; built on first use)."""
        self.deposit_tables: dict = {}
        """Secretion rates by cell type, state and marker, as arrays (compiled engine only: its deposit reads
        them; set with the arm, whose blockades may knock a source down)."""
        self._tissue_steps = ((rules_compiled.tcells_step, rules_compiled.macrophages_step,
                               rules_compiled.bcells_step) if compiled else
                              (tcells.step_tissue, macrophages.step_tissue, bcells.step_tissue))
        t = scenario.tissue
        self.space = TissueSpace(t.width_voxels, t.height_voxels, t.voxel_um, MEDIATORS, self.random,
                                 compiled=compiled)
        f = self.bio.fields
        diffusion = [getattr(f, m).diffusion_um2_per_min for m in MEDIATORS]
        loss = [getattr(f, m).loss_per_min for m in MEDIATORS]
        coarsening = scenario.simulation.field_coarsening
        self.solver = (SteadyStateSolver((t.width_voxels, t.height_voxels), t.voxel_um, diffusion, loss,
                                         dtype=np.float32) if coarsening == 1 else
                       CoarsenedSolver((t.width_voxels, t.height_voxels), t.voxel_um, diffusion, loss, coarsening,
                                       dtype=np.float32, compiled=compiled))
        self.tcells, self.macrophages, self.bcells, self.msc = (ct.population() for ct in cells.CELL_TYPES)
        self.blood = compartments.initial_blood(self.bio.systemic)
        self.lung = compartments.LungState(
            phagocytes=self.bio.lung.phagocytes_per_kg * self.patient.body_weight_kg)
        self.slice_share = dosing.slice_volume_ml(scenario) / self.disease.inflamed_tissue_volume_ml
        """Volume of the modelled slice over the inflamed tissue's: the share of cells homing to that tissue
        that land in the slice."""
        self.autoantibody = 0.0
        self.damage = damage.DamageState()
        """The damage loop's state (:mod:`abm.biology.damage`; D stays 1 when the loop is off)."""
        self.disease_scale = 1.0
        """Multiplier on the disease's antigen drive and tones that the damage loop sets (1 when it is off)."""
        self._t_origin_h = -scenario.simulation.burn_in_days * 24.0
        self._own_steps = 0
        self.t_h = self._t_origin_h
        self.events: Counter[str] = Counter()
        self._egress = np.zeros(tcells.N_STATES, np.int64)
        self.systemic = Levels(*np.zeros(len(MEDIATORS)))
        """The lymphoid-local levels circulating T cells see (a.u.)."""
        self.plasma = plasma.background(self.bio.plasma)
        """The plasma pool of each mediator (a.u., MEDIATORS order; :mod:`abm.biology.plasma`)."""
        self.run_info: dict = {}
        """Free-form JSON data a runner stores in checkpoints (phase, arm, recorded rows)."""
        self.set_arm(arm or UNTREATED)
        tissue.populate(self)
        self.macrophage_recruitment_per_h = tissue.macrophage_recruitment_per_h(self)

    # ----------------------------------------------------------------------------- setup
    def set_arm(self, arm: Treatment) -> None:
        """Apply a treatment arm (used at the branch point after burn-in)."""
        self.arm = arm
        self.blockades = arm.blockades
        self.infusions = dosing.plan(self.cfg, arm)
        self._given = 0
        self.blocked_mediators = mechanisms.blocked_mediators(arm.blockades)  # the registry says what each removes
        self.proliferation_factor, self.inflammation_factor = dosing.comedication(
            self.bio.concomitant, arm, self.cfg.patient.background_medication)
        self.secretion = secretion.with_knockdowns(secretion.for_branches(self.bio.secretion, self.bio),
                                                    mechanisms.knocked_down(arm.blockades))
        """The secretion table this arm's cells use (``biology.secretion``, plus the branches' rows, less any
        knocked-down source)."""
        if self.engine == "compiled":
            self.deposit_tables = secretion.deposit_tables(self.secretion)

    # ----------------------------------------------------------------------------- helpers
    @property
    def grid(self):
        """Mesa's grid with the fields as property layers (the name Mesa's renderers expect); built on
        first access, so batch runs never pay for it (:class:`abm.engine.space.TissueSpace`)."""
        return self.space.grid

    @property
    def t_days(self) -> float:
        """Days since the first treatment day (negative during burn-in)."""
        return self.t_h / 24.0

    def levels_at(self, pop) -> Levels:
        """Field levels at each cell of a population."""
        return Levels.from_rows(self.space.sample(pop).astype(np.float64))

    def update_contacts(self) -> None:
        """Refresh the per-voxel count of suppressor contacts (:func:`abm.biology.tissue.suppressor_contacts`)."""
        self.suppressor_contacts = tissue.suppressor_contacts(self)

    def record_egress(self, states: np.ndarray) -> None:
        """T cells leaving the tissue towards blood (counted by state)."""
        self.record_egress_counts(np.bincount(states, minlength=tcells.N_STATES))

    def record_egress_counts(self, counts: np.ndarray) -> None:
        """T cells leaving the tissue towards blood, already counted by state."""
        self._egress += counts

    def runtime_factors(self) -> np.ndarray:
        """The factors the compiled rules read per step: co-medication on proliferation, the damage loop's
        scale of the disease drive (:data:`abm.biology.rules.program.RUNTIME_PROLIFERATION`, ``RUNTIME_DISEASE``)."""
        return np.array([self.proliferation_factor, self.disease_scale], np.float64)

    def take_egress(self) -> np.ndarray:
        """Egress counts since the last call, then reset."""
        out, self._egress = self._egress, np.zeros(tcells.N_STATES, np.int64)
        return out

    # ----------------------------------------------------------------------------- step
    def step(self) -> None:
        """Advance one step of ``dt_h`` hours in the documented order."""
        interrupt.checkpoint()  # a deferred Ctrl-C lands here, between steps
        self._give_treatments()
        self._traffic()
        # the old fields are not read again this step: the sources are written over them and solved in place
        sources = secretion.tissue_sources(self, out=self.space.fields)
        self.solver.solve(sources, out=self.space.fields, overwrite_sources=True)
        self.events.update(msc.step_tissue(self))
        self.update_contacts()
        for rule in self._tissue_steps:
            self.events.update(rule(self))
        self.systemic = compartments.systemic_levels(self)
        self.events.update(compartments.step_lung(self, self.systemic))
        self.events.update(self._blood_step(self, self.systemic))
        self.plasma = plasma.step(self.plasma, self.bio.plasma, self.systemic, self.dt_h)
        damage.step(self)
        self._move()
        self._own_steps += 1
        self.t_h = self._t_origin_h + self._own_steps * self.dt_h  # no drift from repeated addition

    def _give_treatments(self) -> None:
        while self._given < len(self.infusions):
            inf = self.infusions[self._given]
            if inf.day * 24.0 >= self.t_h + self.dt_h - 1e-9:  # given in the step that contains it
                break
            self._given += 1
            lung = self.lung
            alive = lung.msc_alive + lung.msc_apoptotic
            lung.msc_potency = (lung.msc_potency * alive + inf.potency * inf.to_lung) / max(alive + inf.to_lung, 1.0)
            if inf.licensed:
                lung.msc_licensed += round(inf.to_lung)
            else:
                lung.msc_resting += round(inf.to_lung)
            k = int(self.rngs.treatment.poisson(inf.tissue_expected))
            x, y = self.space.random_free(k, self.rngs.treatment)
            self.space.claim(x, y)
            self.msc.add(x=x, y=y, state=msc.LICENSED if inf.licensed else msc.RESTING,
                         potency=inf.potency, state_h=0.0)
            self.events.update({"infusion": 1, "msc_arrived_tissue": int(x.size)})

    def _traffic(self) -> None:
        rng = self.rngs.traffic
        k = int(rng.poisson(tissue.t_cell_ingress_per_h(self) * self.dt_h))
        x, y = self.space.random_free(k, rng)
        states = self._ingress_states(self, x.size)
        self.space.claim(x, y)
        self.tcells.add(x=x, y=y, state=states, age_h=0.0)

    def _move(self) -> None:
        dt_min = self.dt_h * 60.0
        for pop, coef in ((self.tcells, self.bio.tcells.motility_um2_per_min),
                          (self.bcells, self.bio.bcells.motility_um2_per_min),
                          (self.macrophages, self.bio.macrophages.motility_um2_per_min)):
            sigma = np.sqrt(2.0 * coef * dt_min) / self.space.voxel_um
            self.space.jump(pop, sigma, self.rngs.motility)

    # ----------------------------------------------------------------------------- state
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict]:
        """The full dynamic state: (arrays, JSON-able metadata), RNG included.

        Configuration is not part of the state; a state is restored into a model built from the
        same scenario (the checkpoint stores the scenario beside it).
        """
        arrays: dict[str, np.ndarray] = {"fields": self.space.fields.copy(),
                                         "occupied": self.space.occupied.copy(),
                                         "egress": self._egress.copy()}
        for pop in (self.tcells, self.macrophages, self.bcells, self.msc):
            for col, arr in pop.arrays().items():
                arrays[f"{pop.name}.{col}"] = arr
        meta = {
            "t_h": self.t_h,
            "t_origin_h": self._t_origin_h,
            "own_steps": self._own_steps,
            "steps": self.steps,
            "autoantibody": self.autoantibody,
            "damage": compartments.asdict(self.damage),
            "disease_scale": self.disease_scale,
            "blood": _plain(compartments.asdict(self.blood)),
            "lung": _plain(compartments.asdict(self.lung)),
            "systemic": [float(v) for v in vars(self.systemic).values()],
            "plasma": [float(v) for v in self.plasma],
            "events": _plain(dict(self.events)),
            "given": self._given,
            "arm": self.arm.model_dump(mode="json"),
            "macrophage_recruitment_per_h": self.macrophage_recruitment_per_h,
            "rng": self.rngs.state(),
            "mesa_rng": self.rng.bit_generator.state,
            "random": _py_random_state(self.random),
            "run_info": self.run_info,
        }
        return arrays, meta

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        """Restore a state produced by :meth:`state_dict` (bit-identical continuation)."""
        self.set_arm(Treatment.model_validate(meta["arm"]))
        self.space.fields[:] = arrays["fields"]
        self.space.occupied[:] = arrays["occupied"]
        egress = arrays["egress"].astype(np.int64)
        self._egress = np.zeros(tcells.N_STATES, np.int64)
        self._egress[:egress.size] = egress  # a checkpoint from before the new T-cell states has three
        for pop in (self.tcells, self.macrophages, self.bcells, self.msc):
            pop.load_arrays({c: arrays[f"{pop.name}.{c}"] for c in pop.columns})
        self._t_origin_h = float(meta["t_origin_h"])
        self._own_steps = int(meta["own_steps"])
        self.t_h = float(meta["t_h"])
        self.steps = int(meta["steps"])
        self.autoantibody = float(meta["autoantibody"])
        self.damage = damage.DamageState(**meta.get("damage", {}))
        self.disease_scale = float(meta.get("disease_scale", 1.0))
        self.blood = compartments.Blood(**meta["blood"])
        self.lung = compartments.LungState(**meta["lung"])
        self.systemic = Levels(*meta["systemic"])
        self.plasma = np.array(meta.get("plasma", plasma.background(self.bio.plasma)), np.float64)
        self.events = Counter(meta["events"])
        self._given = int(meta["given"])
        self.macrophage_recruitment_per_h = float(meta["macrophage_recruitment_per_h"])
        self.rngs.set_state(meta["rng"])
        self.rng.bit_generator.state = meta["mesa_rng"]
        self.random.setstate(_py_random_from(meta["random"]))
        self.run_info = dict(meta.get("run_info", {}))
        self.space.publish_fields()

    def reseed(self, seed) -> None:
        """Replace the random streams (used when arms branch from one burned-in state)."""
        self.rngs = Streams(seed)


def _plain(d: dict) -> dict:
    """numpy scalars to Python numbers (for JSON)."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


def _py_random_state(r) -> list:
    version, internal, gauss = r.getstate()
    return [version, list(internal), gauss]


def _py_random_from(state: list) -> tuple:
    return (state[0], tuple(state[1]), state[2])
