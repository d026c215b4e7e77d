"""metrolab — a low-code platform for a metrology verification laboratory (计量检定机构)."""

import os

# Piccolo binds every Table class to the engine named by PICCOLO_CONF when the class is
# created, so this must be set before any feature's tables module is imported.
os.environ.setdefault("PICCOLO_CONF", "metrolab.piccolo_conf")
