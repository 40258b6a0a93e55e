"""DistillShield: guard, detect, mark and prove distillation of a model served over an API."""

__version__ = "0.1.0"
