"""Realistic synthetic NPR messages (all five modules) with a truth manifest.

Entry point: `generate(out, year=, years=, as_of=, scale=, seed=, workers=, fault_share=, progress=)`;
the realism parameters are in `parameters.py`, the world (people, institutions, equipment) in
`world.py`, time (tertials, trends, versions, arrivals) in `history.py`, clinical activity in
`activity.py` and `radiotherapy.py`, corrections in `corrections.py`, files in `reporting.py`.
"""

from synth.generator import generate

__all__ = ["generate"]
