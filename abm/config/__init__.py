"""Scenario configuration: schema (with units and sources), loading, validation, hashing."""

from abm.biology.disease import Disease, preset_names
from abm.biology.parameters import MEDIATORS, Biology
from abm.biology.treatment import Blockades, Dose, Product, Schedule, Treatment
from abm.config.load import ConfigError, config_hash, dump_yaml, load, to_dict, validate_dict
from abm.config.scenario import Patient, Scenario, Simulation, Tissue

__all__ = [
    "MEDIATORS", "Biology", "Blockades", "ConfigError", "Disease", "Dose", "Patient", "Product",
    "Scenario", "Schedule", "Simulation", "Tissue", "Treatment", "config_hash", "dump_yaml", "load",
    "preset_names", "to_dict", "validate_dict",
]
