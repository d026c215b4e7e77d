"""Lazy access to the expression evaluator, so importing the forms package never fails early."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metrolab.engine.expressions import ExpressionError


def module() -> ModuleType:
    from metrolab.engine import expressions

    return expressions


def compile_expression(source: str) -> Any:
    return module().compile_expression(source)


def evaluate(compiled: Any, env: Mapping[str, Any]) -> Any:
    return module().evaluate(compiled, env)


def error_type() -> type[ExpressionError]:
    return module().ExpressionError


@lru_cache(maxsize=1)
def function_names() -> frozenset[str]:
    return frozenset(module().FUNCTIONS)
