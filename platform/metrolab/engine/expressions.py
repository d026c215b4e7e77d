"""Safe expressions for computed fields, visibility conditions and workflow guards.

Expressions are untrusted text written in form definitions, e.g.
``(V_J - V_Bt) / V_Bt * 100`` or ``within(round_gb(maxabs(runs.E), 0.01), mpe)``. They are parsed
with ``ast.parse(mode="eval")``, checked against a whitelist, and run by a small walker; user text
is never given to ``eval``/``exec``/``compile``.

Language (a subset of Python syntax):

* numbers become ``decimal.Decimal`` built from the literal's source text (``0.1 + 0.2 == 0.3``);
  strings, ``True``/``False``/``None``, list and tuple literals (both give lists);
* names, and data paths rooted at a name: ``runs.E``, ``nozzle.runs.E``, ``runs[0].E``,
  ``row["E"]``. Paths are *data lookups* in dicts and lists, never attribute access: ``a.b`` on a
  mapping is ``a["b"]``; on a list it is the list of each element's ``b`` (so ``mean(runs.E)``
  averages a column). A missing key or an index out of range gives ``None`` (a blank cell);
* ``+ - * / // % **`` (``//`` and ``%`` as ``Decimal`` does them: truncating toward zero), unary
  ``- +``, comparisons (chained, ``in``, ``is None``), ``and`` / ``or`` / ``not`` (Python
  semantics, so ``E or 0`` substitutes a blank), ``x if c else y``, and calls of the functions
  in :data:`FUNCTIONS` by bare name, including ``if(c, x, y)``;
* blanks propagate: ``None`` in arithmetic or in an ordering comparison gives ``None``, and so
  does a conditional whose condition is ``None``. A blank reading makes the computed value blank
  rather than raising an error or producing a verdict. Aggregates skip ``None`` elements.

Everything else — attribute access not rooted at a name, names or path segments starting with
``_``, lambda, comprehensions, f-strings, walrus, starred or keyword arguments, dict/set literals,
bit operators, slices, calls of anything but a whitelisted bare name — is refused when compiled.
Limits: 2000 characters, 500 AST nodes, nesting depth 100, ``**`` only with an integer exponent
``|n| ≤ 100``, ``Decimal`` arithmetic at 28 significant digits with exponents within ±999, a text
result of at most :data:`MAX_TEXT_LENGTH` characters and a list result of at most
:data:`MAX_LIST_SIZE` elements (nested lists and the characters of their texts counted): computed
fields feed each other, so without a bound three levels of ``s0 + s0 + …`` reach hundreds of MB.
"""

from __future__ import annotations

import ast
import decimal
import io
import keyword
import re
import tokenize
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from metrolab.engine import conformity
from metrolab.engine.rounding import round_gb

__all__ = [
    "ExpressionError",
    "CompiledExpression",
    "Function",
    "FUNCTIONS",
    "compile_expression",
    "evaluate",
    "check_names",
    "dependency_order",
    "CONTEXT",
    "MAX_SOURCE_LENGTH",
    "MAX_NODES",
    "MAX_DEPTH",
    "MAX_POWER",
    "MAX_TEXT_LENGTH",
    "MAX_LIST_SIZE",
]

MAX_SOURCE_LENGTH = 2000
MAX_NODES = 500
MAX_DEPTH = 100
MAX_POWER = 100
MAX_TEXT_LENGTH = 10_000  # characters of a text an expression builds or returns
MAX_LIST_SIZE = 100_000  # elements of a list result, nested lists and texts' characters counted

# Every computation runs in this context: bounded precision, bounded exponents, and the
# conditions that would otherwise produce NaN/Infinity raise instead.
CONTEXT = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999,
    Emin=-999,
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.FloatOperation,
    ],
)


class ExpressionError(ValueError):
    """An expression was refused (at compile time) or failed (at run time).

    ``code`` is one of: ``syntax``, ``forbidden``, ``limit``, ``unknown_name``,
    ``unknown_function``, ``arguments``, ``cycle``, ``runtime``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "runtime",
        source: str | None = None,
        position: int | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.source = source
        self.position = position
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.position is not None:
            return f"{self.message}（第 {self.position} 列）"
        return self.message


# ---------------------------------------------------------------------------------------------
# Compilation: parse and check against the whitelist, nothing is run.


@dataclass(frozen=True, eq=False)
class CompiledExpression:
    """A checked expression. Build it with :func:`compile_expression`."""

    source: str
    names: frozenset[str]
    functions: frozenset[str]
    tree: ast.Expression = field(repr=False)
    name_positions: Mapping[str, int | None] = field(repr=False, default_factory=dict)
    numbers: Mapping[int, Decimal] = field(repr=False, default_factory=dict)
    positions: Mapping[int, int] = field(repr=False, default_factory=dict)
    if_calls: frozenset[int] = field(repr=False, default=frozenset())


_IF_PLACEHOLDER = "_I"  # same length as "if", so column offsets are unchanged
_IF_CALL = re.compile(r"\bif\s*\(")
_OPERAND_END_KEYWORDS = {"True", "False", "None"}


def _rewrite_if_calls(source: str) -> tuple[str, set[tuple[int, int]]]:
    """``if(c, a, b)`` is not Python syntax: rename the keyword where it starts an operand."""
    if not _IF_CALL.search(source):
        return source, set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return source, set()  # ast.parse reports the problem
    significant = [
        t for t in tokens if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)
    ]
    places: set[tuple[int, int]] = set()
    for i, tok in enumerate(significant):
        if tok.type != tokenize.NAME or tok.string != "if":
            continue
        nxt = significant[i + 1] if i + 1 < len(significant) else None
        if nxt is None or nxt.string != "(":
            continue
        prev = significant[i - 1] if i > 0 else None
        after_operand = prev is not None and (
            prev.type in (tokenize.NUMBER, tokenize.STRING)
            or (
                prev.type == tokenize.NAME
                and (prev.string in _OPERAND_END_KEYWORDS or not keyword.iskeyword(prev.string))
            )
            or (prev.type == tokenize.OP and prev.string in (")", "]", "}"))
        )
        if not after_operand:
            places.add(tok.start)
    if not places:
        return source, set()
    lines = source.splitlines(keepends=True)
    byte_places: set[tuple[int, int]] = set()
    for row, col in places:
        line = lines[row - 1]
        lines[row - 1] = line[:col] + _IF_PLACEHOLDER + line[col + 2 :]
        byte_places.add((row, len(line[:col].encode("utf-8"))))  # ast columns are UTF-8 bytes
    return "".join(lines), byte_places


def _char_position(source: str, lineno: int | None, col_offset: int | None) -> int | None:
    """1-based character position in ``source`` from ast's (line, UTF-8 byte column)."""
    if lineno is None or col_offset is None:
        return None
    lines = source.splitlines(keepends=True)
    if not 1 <= lineno <= len(lines):
        return None
    before = sum(len(line) for line in lines[: lineno - 1])
    column = len(lines[lineno - 1].encode("utf-8")[:col_offset].decode("utf-8", "replace"))
    return before + column + 1


_BINOPS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_CMPOPS = (
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)

# Chinese names for refused syntax, so the message says what was refused.
_FORBIDDEN_NAMES: dict[str, str] = {
    "Lambda": "lambda 表达式",
    "ListComp": "列表推导式",
    "SetComp": "集合推导式",
    "DictComp": "字典推导式",
    "GeneratorExp": "生成器表达式",
    "JoinedStr": "f-字符串",
    "FormattedValue": "f-字符串",
    "NamedExpr": "赋值表达式 :=",
    "Starred": "星号展开",
    "Dict": "字典字面量",
    "Set": "集合字面量",
    "Slice": "切片",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
    "MatMult": "运算符 @",
    "BitAnd": "位运算 &",
    "BitOr": "位运算 |",
    "BitXor": "位运算 ^",
    "LShift": "位运算 <<",
    "RShift": "位运算 >>",
    "Invert": "位运算 ~",
    "Attribute": "属性访问",
    "Subscript": "下标访问",
    "Call": "函数调用",
}


class _Checker:
    def __init__(self, source: str, text: str, shift: int, if_places: set[tuple[int, int]]) -> None:
        self.source = source  # as written, for error reports
        self.text = text  # as parsed
        self.shift = shift
        self.if_places = if_places
        self.names: dict[str, int | None] = {}  # first position of each root name
        self.functions: set[str] = set()
        self.numbers: dict[int, Decimal] = {}
        self.positions: dict[int, int] = {}
        self.if_calls: set[int] = set()

    def position(self, node: ast.AST | None) -> int | None:
        if node is None:
            return None
        pos = _char_position(
            self.text, getattr(node, "lineno", None), getattr(node, "col_offset", None)
        )
        return None if pos is None else pos + self.shift

    def fail(self, node: ast.AST | None, message: str, code: str = "forbidden") -> ExpressionError:
        return ExpressionError(message, code=code, source=self.source, position=self.position(node))

    def forbidden(self, node: ast.AST, what: ast.AST | None = None) -> ExpressionError:
        kind = type(what or node).__name__
        return self.fail(node, f"不允许的语法：{_FORBIDDEN_NAMES.get(kind, kind)} (not allowed)")

    def remember(self, node: ast.AST) -> None:
        pos = self.position(node)
        if pos is not None:
            self.positions[id(node)] = pos

    def check_segment(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            raise self.fail(
                node, f"不允许以下划线开头的名称：“{name}” (names starting with _ are not allowed)"
            )

    def visit(self, node: ast.AST) -> None:
        self.remember(node)
        if isinstance(node, ast.Expression):
            self.visit(node.body)
        elif isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Name):
            self.check_segment(node, node.id)
            self.names.setdefault(node.id, self.position(node))
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            self.path(node)
        elif isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                self.visit(element)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise self.forbidden(node, node.op)
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
                raise self.forbidden(node, node.op)
            self.visit(node.operand)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                self.visit(value)
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if not isinstance(op, _CMPOPS):
                    raise self.forbidden(node, op)
                if isinstance(op, (ast.Is, ast.IsNot)) and not (
                    isinstance(right, ast.Constant) and right.value is None
                ):
                    raise self.fail(node, "“is” 只能用于与 None 比较 (“is” only with None)")
            self.visit(node.left)
            for right in node.comparators:
                self.visit(right)
        elif isinstance(node, ast.IfExp):
            self.visit(node.test)
            self.visit(node.body)
            self.visit(node.orelse)
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            raise self.forbidden(node)

    def constant(self, node: ast.Constant) -> None:
        value = node.value
        if value is None or isinstance(value, (bool, str)):
            return
        if isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            text = ast.get_source_segment(self.text, node) or ""
            try:
                number = Decimal(text.replace("_", ""))
            except decimal.InvalidOperation:
                raise self.fail(node, f"无法识别的数字：“{text}” (bad number)", "syntax") from None
        else:
            raise self.fail(node, f"不允许的常量：{type(value).__name__} (constant not allowed)")
        if not number.is_finite() or (number and abs(number.adjusted()) > CONTEXT.Emax):
            raise self.fail(node, "数字超出范围 (number out of range)", "limit")
        self.numbers[id(node)] = number

    def path(self, node: ast.Attribute | ast.Subscript) -> None:
        """Data paths must be rooted at a name: ``a.b[0]["c"]``."""
        current: ast.AST = node
        while isinstance(current, (ast.Attribute, ast.Subscript)):
            self.remember(current)
            if isinstance(current, ast.Attribute):
                self.check_segment(current, current.attr)
            else:
                self.subscript(current)
            current = current.value
        if not isinstance(current, ast.Name):
            what = "属性访问" if isinstance(node, ast.Attribute) else "下标访问"
            raise self.fail(
                node,
                f"不允许的语法：{what}只能用于以名称开头的数据路径 (paths must start with a name)",
            )
        self.visit(current)

    def subscript(self, node: ast.Subscript) -> None:
        index = node.slice
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
            index = index.operand
        if isinstance(index, ast.Constant) and isinstance(index.value, str):
            if index is node.slice:
                self.check_segment(node, index.value)
                return
        elif (
            isinstance(index, ast.Constant)
            and isinstance(index.value, int)
            and not isinstance(index.value, bool)
        ):
            return
        if isinstance(index, ast.Slice):
            raise self.forbidden(node, index)
        raise self.fail(
            node, "下标只能是整数或字符串常量 (index must be an integer or string literal)"
        )

    def call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail(
                node, "不允许的语法：只能按名称调用函数 (only named functions can be called)"
            )
        name = func.id
        if name == _IF_PLACEHOLDER and (func.lineno, func.col_offset) in self.if_places:
            name = "if"
            self.if_calls.add(id(node))
        else:
            self.check_segment(func, name)
        if name not in FUNCTIONS:
            raise self.fail(func, f"未知函数 “{name}” (unknown function)", "unknown_function")
        if node.keywords:
            raise self.fail(node, f"函数 “{name}” 不接受关键字参数 (keyword arguments not allowed)")
        spec = FUNCTIONS[name]
        if not spec.min_args <= len(node.args) <= (spec.max_args or len(node.args)):
            raise self.fail(
                node,
                f"函数 “{name}” 的参数个数不对，应为 {spec.arity} (wrong number of arguments)",
                "arguments",
            )
        self.remember(func)
        self.functions.add(name)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.forbidden(arg)
            self.visit(arg)


def compile_expression(source: str) -> CompiledExpression:
    """Parse and check ``source`` against the whitelist without running anything."""
    if not isinstance(source, str):
        raise ExpressionError("表达式必须是文本 (expression must be a string)", code="syntax")
    return _compile(source)


@lru_cache(maxsize=2048)
def _compile(source: str) -> CompiledExpression:
    if not source.strip():
        raise ExpressionError("表达式为空 (empty expression)", code="syntax", source=source)
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"表达式过长：{len(source)} 个字符，上限 {MAX_SOURCE_LENGTH} (expression too long)",
            code="limit",
            source=source,
        )
    # Leading blanks would be an "unexpected indent"; drop them and shift reported positions.
    text = source.lstrip()
    shift = len(source) - len(text)
    text, if_places = _rewrite_if_calls(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "invalid decimal literal" for 1if: still refused
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        position = None
        if exc.offset is not None and exc.lineno is not None:
            lines = text.splitlines(keepends=True)
            before = sum(len(line) for line in lines[: exc.lineno - 1])
            position = before + exc.offset + shift
        raise ExpressionError(
            f"语法错误 (syntax error: {exc.msg})", code="syntax", source=source, position=position
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(
            f"语法错误 (syntax error: {exc})", code="syntax", source=source
        ) from None
    _check_size(tree, source)
    checker = _Checker(source, text, shift, if_places)
    checker.visit(tree)
    return CompiledExpression(
        source=source,
        names=frozenset(checker.names),
        functions=frozenset(checker.functions),
        tree=tree,
        name_positions=checker.names,
        numbers=checker.numbers,
        positions=checker.positions,
        if_calls=frozenset(checker.if_calls),
    )


def _check_size(tree: ast.AST, source: str) -> None:
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(
                f"表达式过于复杂：超过 {MAX_NODES} 个语法节点 (expression too complex)",
                code="limit",
                source=source,
            )
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"表达式嵌套过深：超过 {MAX_DEPTH} 层 (expression nested too deeply)",
                code="limit",
                source=source,
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


# ---------------------------------------------------------------------------------------------
# Evaluation


def evaluate(expr: CompiledExpression | str, env: Mapping[str, Any]) -> Any:
    """Run a compiled (or compile and run a source) expression against ``env``.

    ``env`` values may be ``Decimal``, ``int`` (taken as ``Decimal``), ``str``, ``bool``, ``None``,
    lists and dicts of those. Strings are never converted to numbers (the caller converts) and
    floats are refused. Every failure is an :class:`ExpressionError`.
    """
    compiled = compile_expression(expr) if isinstance(expr, str) else expr
    if not isinstance(compiled, CompiledExpression):
        raise ExpressionError("表达式必须是文本或已编译的表达式 (not an expression)", code="syntax")
    if not isinstance(env, Mapping):
        raise ExpressionError("计算环境必须是映射 (env must be a mapping)", code="runtime")
    with decimal.localcontext(CONTEXT):
        evaluator = _Evaluator(compiled, env)
        result = evaluator.eval(compiled.tree.body)
        evaluator.bounded(compiled.tree.body, result)
        return result


def _size(value: Any, budget: int) -> int:
    """How big a value is (a text's characters; a list's elements, recursively), counted only
    until ``budget`` is passed: a giant value is never walked whole."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list):
        return 1
    total = len(value)
    for item in value:
        if total > budget:
            break
        if isinstance(item, (str, list)):
            total += _size(item, budget - total)
    return total


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "除数为零 (division by zero)"
    if isinstance(exc, decimal.Overflow):
        return "数值超出范围 (number too large)"
    if isinstance(exc, decimal.InvalidOperation):
        return "无效的数值运算 (invalid decimal operation)"
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    return f"计算出错 (evaluation failed: {type(exc).__name__})"


def _value(value: Any) -> Any:
    """Normalise data from the environment or a function result."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"数值不是有限数：{value} (not a finite number)")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise ValueError("不接受浮点数，请使用 Decimal (floats are not accepted, use Decimal)")
    if isinstance(value, (list, tuple)):
        return [_value(item) for item in value]
    if isinstance(value, Mapping):
        return value
    raise ValueError(f"不支持的数据类型：{type(value).__name__} (unsupported data type)")


def _type_name(value: Any) -> str:
    return {
        Decimal: "数值",
        str: "文本",
        bool: "布尔值",
        list: "列表",
        type(None): "空值",
    }.get(type(value), "记录" if isinstance(value, Mapping) else type(value).__name__)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b) and not (isinstance(a, Mapping) and isinstance(b, Mapping)):
        return False
    return bool(a == b)


class _Evaluator:
    def __init__(self, compiled: CompiledExpression, env: Mapping[str, Any]) -> None:
        self.compiled = compiled
        self.env = env

    def error(self, node: ast.AST, message: str, code: str = "runtime") -> ExpressionError:
        return ExpressionError(
            message,
            code=code,
            source=self.compiled.source,
            position=self.compiled.positions.get(id(node)),
        )

    def bounded(self, node: ast.AST, value: Any) -> None:
        """Refuse a text or a list result over its limit (``code="limit"``)."""
        if isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            raise self.error(
                node,
                f"文本结果过长：{len(value)} 个字符，上限 {MAX_TEXT_LENGTH} (text result too long)",
                "limit",
            )
        if isinstance(value, list) and _size(value, MAX_LIST_SIZE) > MAX_LIST_SIZE:
            raise self.error(
                node,
                f"列表结果过大：超过 {MAX_LIST_SIZE} 个元素 (list result too large)",
                "limit",
            )

    def eval(self, node: ast.AST) -> Any:
        try:
            return self.dispatch(node)
        except ExpressionError:
            raise
        except (
            ArithmeticError,
            TypeError,
            ValueError,
            KeyError,
            IndexError,
            RecursionError,
        ) as exc:
            raise self.error(node, _describe(exc)) from None

    def dispatch(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            number = self.compiled.numbers.get(id(node))
            return number if number is not None else node.value
        if isinstance(node, ast.Name):
            return self.lookup(node)
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.path(node)
        if isinstance(node, (ast.List, ast.Tuple)):
            return self.list_literal(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BoolOp):
            return self.boolop(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            test = self.eval(node.test)
            if test is None:
                return None
            return self.eval(node.body) if test else self.eval(node.orelse)
        if isinstance(node, ast.Call):
            return self.call(node)
        # Only reachable with a hand-made tree: compile_expression never lets one through.
        raise self.error(node, f"不允许的语法：{type(node).__name__}", "forbidden")

    def list_literal(self, node: ast.List | ast.Tuple) -> list[Any]:
        items: list[Any] = []
        size = 0
        for element in node.elts:
            item = self.eval(element)
            items.append(item)
            size += _size(item, MAX_LIST_SIZE) if isinstance(item, (str, list)) else 1
            if size > MAX_LIST_SIZE:
                raise self.error(
                    node,
                    f"列表结果过大：超过 {MAX_LIST_SIZE} 个元素 (list result too large)",
                    "limit",
                )
        return items

    def lookup(self, node: ast.Name) -> Any:
        if node.id.startswith("_") or node.id not in self.env:
            raise self.error(node, f"未知名称 “{node.id}” (unknown name)", "unknown_name")
        return _value(self.env[node.id])

    def path(self, node: ast.Attribute | ast.Subscript) -> Any:
        segments: list[str | int] = []
        current: ast.AST = node
        while isinstance(current, (ast.Attribute, ast.Subscript)):
            if isinstance(current, ast.Attribute):
                segments.append(current.attr)
            else:
                index = current.slice
                negative = isinstance(index, ast.UnaryOp)
                constant = index.operand if isinstance(index, ast.UnaryOp) else index
                assert isinstance(constant, ast.Constant)
                segment = constant.value
                if negative:  # the compiler admits only -<int>
                    assert isinstance(segment, int)
                    segment = -segment
                assert isinstance(segment, (str, int))
                segments.append(segment)
            current = current.value
        assert isinstance(current, ast.Name)
        value = self.lookup(current)
        for segment in reversed(segments):
            value = self.step(node, value, segment)
        return _value(value)

    def step(self, node: ast.AST, value: Any, segment: str | int) -> Any:
        if value is None:
            return None
        if isinstance(segment, str):
            if segment.startswith("_"):
                raise self.error(node, f"不允许以下划线开头的名称：“{segment}”", "forbidden")
            if isinstance(value, Mapping):
                return value.get(segment)
            if isinstance(value, (list, tuple)):
                return [self.step(node, item, segment) for item in value]
            raise self.error(node, f"不能从{_type_name(value)}中取字段 “{segment}” (not a record)")
        if isinstance(value, (list, tuple)):
            return value[segment] if -len(value) <= segment < len(value) else None
        raise self.error(node, f"不能对{_type_name(value)}使用序号 [{segment}] (not a list)")

    def binop(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        symbol = _BINOPS[type(node.op)]
        if left is None or right is None:
            return None
        if symbol == "+" and isinstance(left, str) and isinstance(right, str):
            length = len(left) + len(right)
            if length > MAX_TEXT_LENGTH:  # refused before the text is built
                raise self.error(
                    node,
                    f"文本结果过长：{length} 个字符，上限 {MAX_TEXT_LENGTH} (text result too long)",
                    "limit",
                )
            return left + right
        if not (isinstance(left, Decimal) and isinstance(right, Decimal)):
            raise self.error(
                node,
                f"运算符 {symbol} 需要数值，得到{_type_name(left)}和{_type_name(right)} (type mismatch)",
            )
        if symbol in ("/", "//", "%") and right == 0:
            raise self.error(node, "除数为零 (division by zero)")
        if symbol == "+":
            return left + right
        if symbol == "-":
            return left - right
        if symbol == "*":
            return left * right
        if symbol == "/":
            return left / right
        if symbol == "//":
            return left // right
        if symbol == "%":
            return left % right
        return self.power(node, left, right)

    def power(self, node: ast.AST, base: Decimal, exponent: Decimal) -> Decimal:
        if exponent != exponent.to_integral_value():
            raise self.error(
                node, "乘方的指数必须是整数，开方请用 sqrt() (exponent must be an integer)"
            )
        if abs(exponent) > MAX_POWER:
            raise self.error(
                node, f"乘方的指数超出范围：|n| ≤ {MAX_POWER} (exponent too large)", "limit"
            )
        if base == 0 and exponent < 0:
            raise self.error(node, "除数为零 (division by zero)")
        if base == 0 and exponent == 0:
            return Decimal(1)
        return base ** int(exponent)

    def unary(self, node: ast.UnaryOp) -> Any:
        operand = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if operand is None:
            return None
        if not isinstance(operand, Decimal):
            raise self.error(node, f"正负号需要数值，得到{_type_name(operand)} (type mismatch)")
        return -operand if isinstance(node.op, ast.USub) else +operand

    def boolop(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = self.eval(operand)
            if (not value) if is_and else bool(value):
                return value
        return value

    def compare(self, node: ast.Compare) -> bool | None:
        left = self.eval(node.left)
        blank = False
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            result = self.compare_pair(node, op, left, right)
            if result is False:
                return False
            blank = blank or result is None
            left = right
        return None if blank else True

    def compare_pair(self, node: ast.AST, op: ast.cmpop, left: Any, right: Any) -> bool | None:
        if isinstance(op, ast.Eq):
            return _equal(left, right)
        if isinstance(op, ast.NotEq):
            return not _equal(left, right)
        if isinstance(op, ast.Is):
            return left is None
        if isinstance(op, ast.IsNot):
            return left is not None
        if isinstance(op, (ast.In, ast.NotIn)):
            if right is None:
                return None
            if isinstance(right, list):
                found = any(_equal(left, item) for item in right)
            elif (
                isinstance(right, str)
                and isinstance(left, str)
                or isinstance(right, Mapping)
                and isinstance(left, str)
            ):
                found = left in right
            else:
                raise self.error(node, f"“in” 不能用于{_type_name(right)} (type mismatch)")
            return found if isinstance(op, ast.In) else not found
        if left is None or right is None:
            return None
        same = (isinstance(left, Decimal) and isinstance(right, Decimal)) or (
            isinstance(left, str) and isinstance(right, str)
        )
        if not same:
            raise self.error(
                node, f"不能比较{_type_name(left)}和{_type_name(right)}的大小 (type mismatch)"
            )
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        return bool(left >= right)

    def call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)
        if id(node) in self.compiled.if_calls:
            condition = self.eval(node.args[0])
            if condition is None:
                return None
            return self.eval(node.args[1]) if condition else self.eval(node.args[2])
        spec = FUNCTIONS.get(node.func.id)
        if spec is None or spec.func is None:
            raise self.error(
                node, f"未知函数 “{node.func.id}” (unknown function)", "unknown_function"
            )
        args = [self.eval(arg) for arg in node.args]
        return _value(spec.func(*args))


# ---------------------------------------------------------------------------------------------
# Names and dependencies


def check_names(expr: CompiledExpression | str, known: Iterable[str]) -> None:
    """Raise ``ExpressionError(code="unknown_name")`` for the first root name not in ``known``."""
    compiled = compile_expression(expr) if isinstance(expr, str) else expr
    known_names = set(known)
    for name, position in compiled.name_positions.items():
        if name not in known_names:
            raise ExpressionError(
                f"未知名称 “{name}” (unknown name)",
                code="unknown_name",
                source=compiled.source,
                position=position,
            )


def dependency_order(exprs: Mapping[str, CompiledExpression | str]) -> list[str]:
    """Order computed keys so each comes after the keys it references by root name.

    Keys keep their given order where dependencies allow. A cycle raises
    ``ExpressionError(code="cycle")`` naming it, e.g. ``a → b → a``.
    """
    compiled = {
        key: compile_expression(value) if isinstance(value, str) else value
        for key, value in exprs.items()
    }
    deps = {
        key: [name for name in expr.name_positions if name in compiled]
        for key, expr in compiled.items()
    }
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = in progress, 2 = done
    for start in compiled:
        if state.get(start) == 2:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            key, index = stack[-1]
            if index < len(deps[key]):
                stack[-1] = (key, index + 1)
                nxt = deps[key][index]
                if state.get(nxt) == 1:
                    path = [k for k, _ in stack]
                    cycle = path[path.index(nxt) :] + [nxt]
                    raise ExpressionError(
                        f"计算字段存在循环引用：{' → '.join(cycle)} (circular reference)",
                        code="cycle",
                        source=compiled[key].source,
                    )
                if state.get(nxt) is None:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                stack.pop()
                state[key] = 2
                order.append(key)
    return order


# ---------------------------------------------------------------------------------------------
# Functions


@dataclass(frozen=True)
class Function:
    """A function expressions may call; ``func is None`` for the lazy ``if``."""

    name: str
    func: Callable[..., Any] | None
    min_args: int
    max_args: int | None  # None: any number
    zh: str
    en: str
    usage: str

    @property
    def arity(self) -> str:
        if self.max_args == self.min_args:
            return str(self.min_args)
        if self.max_args is None:
            return f"{self.min_args}+"
        return f"{self.min_args}–{self.max_args}"


def _flatten(args: Iterable[Any]) -> list[Any]:
    """Aggregates take several values or lists (nested lists too); blanks are skipped."""
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, list):
            out.extend(_flatten(arg))
        elif arg is not None:
            out.append(arg)
    return out


def _numbers(args: Iterable[Any], name: str) -> list[Decimal]:
    values = _flatten(args)
    for value in values:
        if not isinstance(value, Decimal):
            raise ValueError(
                f"函数 {name} 需要数值，得到{_type_name(value)}“{value}” (numbers expected)"
            )
    return values


def _number(value: Any, name: str) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    raise ValueError(f"函数 {name} 需要数值，得到{_type_name(value)}“{value}” (number expected)")


def _comparable(args: Iterable[Any], name: str) -> list[Any]:
    values = _flatten(args)
    if values and not (
        all(isinstance(v, Decimal) for v in values) or all(isinstance(v, str) for v in values)
    ):
        raise ValueError(f"函数 {name} 需要同一类型的数值或文本 (numbers or texts expected)")
    return values


def _abs(x: Any) -> Decimal | None:
    number = _number(x, "abs")
    return None if number is None else abs(number)


def _min(*args: Any) -> Any:
    values = _comparable(args, "min")
    return min(values) if values else None


def _max(*args: Any) -> Any:
    values = _comparable(args, "max")
    return max(values) if values else None


def _sum(*args: Any) -> Decimal | None:
    values = _numbers(args, "sum")
    return sum(values, Decimal(0)) if values else None


def _mean(*args: Any) -> Decimal | None:
    values = _numbers(args, "mean")
    return sum(values, Decimal(0)) / len(values) if values else None


def _sqrt(x: Any) -> Decimal | None:
    number = _number(x, "sqrt")
    if number is None:
        return None
    if number < 0:
        raise ValueError(f"不能对负数开平方：{number} (square root of a negative number)")
    return number.sqrt()


def _stdev(*args: Any) -> Decimal | None:
    values = _numbers(args, "stdev")
    if len(values) < 2:
        return None
    average = sum(values, Decimal(0)) / len(values)
    variance = sum(((v - average) ** 2 for v in values), Decimal(0)) / (len(values) - 1)
    return variance.sqrt()


def _range(*args: Any) -> Decimal | None:
    values = _numbers(args, "range")
    return max(values) - min(values) if values else None


def _count(*args: Any) -> Decimal:
    return Decimal(len(_flatten(args)))


def _len(x: Any) -> Decimal | None:
    if x is None:
        return None
    if isinstance(x, (list, str, Mapping)):
        return Decimal(len(x))
    raise ValueError(f"函数 len 需要列表或文本，得到{_type_name(x)} (list or text expected)")


def _first(x: Any) -> Any:
    if x is None:
        return None
    if not isinstance(x, list):
        raise ValueError(f"函数 first 需要列表，得到{_type_name(x)} (list expected)")
    return x[0] if x else None


def _last(x: Any) -> Any:
    if x is None:
        return None
    if not isinstance(x, list):
        raise ValueError(f"函数 last 需要列表，得到{_type_name(x)} (list expected)")
    return x[-1] if x else None


def _maxabs(*args: Any) -> Decimal | None:
    values = _numbers(args, "maxabs")
    if not values:
        return None
    best = values[0]
    for value in values[1:]:
        if abs(value) > abs(best):
            best = value
    return best


def _round_gb(x: Any, step: Any) -> Decimal | None:
    number = _number(x, "round_gb")
    interval = _number(step, "round_gb")
    if interval is None:
        raise ValueError("修约间隔不能为空 (rounding step is blank)")
    return round_gb(number, interval)


def _within(value: Any, mpe: Any) -> bool | None:
    return conformity.within(_number(value, "within"), _number(mpe, "within"))


def _decide(value: Any, mpe: Any, uncertainty: Any) -> str | None:
    return conformity.decide(
        _number(value, "decide"), _number(mpe, "decide"), _number(uncertainty, "decide")
    )


def _overall(*args: Any) -> str | None:
    return conformity.overall(_flatten(args) if any(a is not None for a in args) else [None])


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in [
        Function("abs", _abs, 1, 1, "绝对值", "absolute value", "abs(x)"),
        Function(
            "min",
            _min,
            1,
            None,
            "最小值（跳过空值）",
            "smallest value (blanks skipped)",
            "min(a, b, …) 或 min(列表)",
        ),
        Function(
            "max",
            _max,
            1,
            None,
            "最大值（跳过空值）",
            "largest value (blanks skipped)",
            "max(a, b, …) 或 max(列表)",
        ),
        Function("sum", _sum, 1, None, "求和", "sum", "sum(a, b, …) 或 sum(列表)"),
        Function("mean", _mean, 1, None, "算术平均值", "arithmetic mean", "mean(列表)"),
        Function("sqrt", _sqrt, 1, 1, "平方根", "square root", "sqrt(x)"),
        Function(
            "stdev",
            _stdev,
            1,
            None,
            "实验标准偏差（贝塞尔公式，n−1）",
            "sample standard deviation (n−1)",
            "stdev(列表)",
        ),
        Function(
            "range", _range, 1, None, "极差（最大值−最小值）", "range (max − min)", "range(列表)"
        ),
        Function(
            "if",
            None,
            3,
            3,
            "条件：条件为真取 a，否则取 b；条件为空时结果为空",
            "a if cond else b; blank when cond is blank",
            "if(条件, a, b)",
        ),
        Function(
            "count", _count, 1, None, "非空值个数", "number of non-blank values", "count(列表)"
        ),
        Function("len", _len, 1, 1, "列表或文本的长度", "length of a list or text", "len(列表)"),
        Function(
            "first", _first, 1, 1, "列表的第一个元素", "first element of a list", "first(列表)"
        ),
        Function("last", _last, 1, 1, "列表的最后一个元素", "last element of a list", "last(列表)"),
        Function(
            "maxabs",
            _maxabs,
            1,
            None,
            "绝对值最大的元素（保留符号），即以最大误差作为结果",
            "element with the largest absolute value, sign kept",
            "maxabs(列表)",
        ),
        Function(
            "round_gb",
            _round_gb,
            2,
            2,
            "按 GB/T 8170-2008 修约（四舍六入五成双，0.5、0.2 单位修约）",
            "round per GB/T 8170-2008",
            "round_gb(x, 0.01)",
        ),
        Function(
            "within",
            _within,
            2,
            2,
            "按最大允许误差的分辨力修约后 |x| ≤ |MPE|",
            "|x| ≤ |MPE| after rounding to the MPE's resolution",
            "within(x, mpe)",
        ),
        Function(
            "decide",
            _decide,
            3,
            3,
            "按 JJF 1094-2002 考虑扩展不确定度判定：合格/不合格/待定",
            "conformity with uncertainty per JJF 1094-2002",
            "decide(x, mpe, U)",
        ),
        Function(
            "overall",
            _overall,
            1,
            None,
            "总结论：有不合格即不合格，有待定即待定，全部合格为合格",
            "overall conclusion",
            "overall(列表)",
        ),
    ]
}
