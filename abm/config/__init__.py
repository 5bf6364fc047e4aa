"""Scenario configuration: schema (with units and sources), loading, validation, hashing."""

from abm.config.biology import MEDIATORS, Biology
from abm.config.disease import Disease, preset_names
from abm.config.load import ConfigError, config_hash, dump_yaml, load, to_dict, validate_dict
from abm.config.scenario import Patient, Scenario, Simulation, Tissue
from abm.config.treatment import Blockades, Dose, Product, Schedule, Treatment

__all__ = [
    "MEDIATORS", "Biology", "Blockades", "ConfigError", "Disease", "Dose", "Patient", "Product",
    "Scenario", "Schedule", "Simulation", "Tissue", "Treatment", "config_hash", "dump_yaml", "load",
    "preset_names", "to_dict", "validate_dict",
]
