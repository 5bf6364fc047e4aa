"""The biology: parameter tables, disease presets, treatment schema and dosing, rules, secretion,
compartments and the mechanism registry derived from them."""
