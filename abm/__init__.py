"""msc-abm: an agent-based model of how infused mesenchymal stromal cells shift immune balance.

Data flows one way: config -> model -> trajectories -> analysis (see docs/architecture.md).
"""

__version__ = "0.1.0"
