"""Append-only audit events: who did what to which object."""
