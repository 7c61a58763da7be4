"""cellsim: agent-based simulation of replicative aging, senescence and reprogramming."""

__version__ = "0.1.0"
