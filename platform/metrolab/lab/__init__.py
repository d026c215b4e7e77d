"""The lab itself: settings and the public pages (§5.2)."""
