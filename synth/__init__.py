"""Realistic synthetic NPR messages (all five modules) with a truth manifest.

Entry point: `generate(out, year=, scale=, seed=, workers=, fault_share=, progress=)`; the
realism parameters are in `parameters.py`, the world (people, institutions, equipment) in
`world.py`, clinical activity in `activity.py`, how it is reported in `reporting.py`.
"""

from synth.generator import generate

__all__ = ["generate"]
