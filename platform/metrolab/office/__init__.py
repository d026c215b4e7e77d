"""Office management (DB1304/T 505—2025 §5.6): 周工作计划 (§5.6.2)."""
