"""The lab: simulated, labelled traffic for training and evaluating the detector."""

from distillshield.lab.traffic import DEFAULT_COUNTS, Simulation, SimulationConfig, simulate, write_simulation

__all__ = ["DEFAULT_COUNTS", "Simulation", "SimulationConfig", "simulate", "write_simulation"]
