"""The generic form engine: definitions are data, this package renders, validates and computes them.

See ``README.md`` beside this file for the definition format and the shape of record data.
"""

from metrolab.engine.forms.checks import validate_for_publish
from metrolab.engine.forms.compute import ComputedValue, ComputeResult, ItemResult, compute
from metrolab.engine.forms.diff import Change, diff_definitions
from metrolab.engine.forms.model import (
    DefinitionInvalid,
    DefinitionProblem,
    FormDefinition,
    load_definition,
)
from metrolab.engine.forms.problems import FieldProblem
from metrolab.engine.forms.render import TEMPLATE_DIR, install, render_form
from metrolab.engine.forms.sample import sample_data
from metrolab.engine.forms.schema import derive_schema
from metrolab.engine.forms.submission import (
    apply_row_action,
    parse_submission,
    validate_submission,
)

__all__ = [
    "Change",
    "ComputeResult",
    "ComputedValue",
    "DefinitionInvalid",
    "DefinitionProblem",
    "FieldProblem",
    "FormDefinition",
    "ItemResult",
    "TEMPLATE_DIR",
    "apply_row_action",
    "compute",
    "derive_schema",
    "diff_definitions",
    "install",
    "load_definition",
    "parse_submission",
    "render_form",
    "sample_data",
    "validate_for_publish",
    "validate_submission",
]
