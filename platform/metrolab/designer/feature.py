"""The form designer feature: a visual editor for form definitions (§5.1), on the forms feature's
versions and API. No tables of its own; the page's permission is the forms feature's `forms.design`."""

from metrolab.designer.routes import router
from metrolab.web.navigation import NavItem

# Declared by the forms feature too (register() keeps the first); repeated so this feature stands alone.
PERMISSIONS = {
    "forms.design": (
        "设计表单（新建、修改、提交审核、停用）",
        "Design forms (draft, submit, retire)",
    )
}
NAV = [NavItem("系统", "表单设计器", "/designer", "forms.design", 71)]
__all__ = ["router"]
