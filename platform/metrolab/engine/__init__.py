"""The generic engine: expressions, rounding, conformity, workflow — no instrument-specific code."""
