"""Workflows: stored, versioned definitions; transitions applied atomically with optimistic locking and
recorded with who/when/from/to/reason/signature; e-signatures; and delay requests (§5.8.10), the first
business process run on the generic engine (metrolab.engine.workflow)."""
