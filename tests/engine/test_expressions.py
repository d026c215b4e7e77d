"""The safe expression evaluator: language, Decimal arithmetic, refusals, limits, fuzzing."""

from __future__ import annotations

import ast
import builtins
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrolab.engine.expressions import (
    FUNCTIONS,
    CompiledExpression,
    ExpressionError,
    check_names,
    compile_expression,
    dependency_order,
    evaluate,
)

# --- the worked JJG 443 example (fuel dispenser, standard can method) ------------------------


def test_jjg_443_worked_example() -> None:
    env: dict[str, Any] = {
        "V_nominal": D("20.00"),  # standard can nominal volume, L
        "h_scale": D("66"),  # neck scale reading, mm
        "h_zero": D("31"),
        "k": D("2"),  # neck scale factor, mL/mm
        "beta_B": D("0.00005"),
        "t_B": D("24"),
        "V_J": D("20.00"),  # dispenser indication, L
    }
    v_b = evaluate("V_nominal - (h_scale - h_zero) * k / 1000", env)
    assert v_b == D("19.930")
    env["V_B"] = v_b
    v_bt = evaluate("round_gb(V_B * (1 + beta_B * (t_B - 20)), 0.001)", env)
    assert v_bt == D("19.934") and str(v_bt) == "19.934"
    env["V_Bt"] = v_bt
    error = evaluate("round_gb((V_J - V_Bt) / V_Bt * 100, 0.01)", env)
    assert str(error) == "0.33"
    env["E"] = error
    env["mpe"] = D("0.30")
    assert evaluate("within(E, mpe)", env) is False
    assert evaluate('if(within(E, mpe), "合格", "不合格")', env) == "不合格"
    # repeatability: (E_max − E_min) / d_n with d_n = 1.69 for three runs
    runs = {"runs": [{"E": D("0.58")}, {"E": D("0.36")}, {"E": D("0.45")}]}
    repeatability = evaluate("round_gb(range(runs.E) / 1.69, 0.01)", runs)
    assert repeatability == D("0.13")
    assert evaluate("round_gb(range(runs.E) / 1.69, 0.01) > 0.10", runs) is True


# --- numbers are Decimal from the literal's text ---------------------------------------------


def test_decimal_not_float() -> None:
    assert evaluate("0.1 + 0.2 == 0.3", {}) is True
    assert evaluate("0.1 + 0.2", {}) == D("0.3")
    assert str(evaluate("20.00", {})) == "20.00"
    assert evaluate("1e-3", {}) == D("0.001")
    assert evaluate("1_000", {}) == D(1000)
    assert evaluate("0x10", {}) == D(16)
    assert isinstance(evaluate("7", {}), D)
    assert evaluate("1 / 3 * 3", {}) == D("0." + "9" * 28)  # 28 significant digits
    assert evaluate("x * 2", {"x": 3}) == D(6)  # int input becomes Decimal


def test_float_input_refused() -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate("x + 1", {"x": 0.1})
    assert info.value.code == "runtime"
    assert "浮点" in info.value.message


def test_numeric_strings_not_converted() -> None:
    with pytest.raises(ExpressionError, match="需要数值"):
        evaluate("x + 1", {"x": "1.5"})
    assert evaluate('s + "号"', {"s": "1"}) == "1号"


@settings(deadline=None)  # no timing flakes on a loaded CI machine
@given(
    st.decimals(min_value=D("-1e6"), max_value=D("1e6"), places=6, allow_nan=False),
    st.decimals(min_value=D("-1e6"), max_value=D("1e6"), places=6, allow_nan=False),
)
def test_arithmetic_matches_decimal(a: D, b: D) -> None:
    env = {"a": a, "b": b}
    assert evaluate("a + b", env) == a + b
    assert evaluate("a - b", env) == a - b
    assert evaluate("a * b", env) == a * b
    assert evaluate(f"{a} + {b}", {}) == a + b  # literals parsed from their text


# --- data paths ------------------------------------------------------------------------------

RECORD = {
    "runs": [{"E": D("0.10")}, {"E": D("-0.25")}, {"E": None}],
    "nozzle": [
        {"runs": [{"E": D("1")}, {"E": D("2")}]},
        {"runs": [{"E": D("-3")}]},
    ],
    "meta": {"type": "加油机", "rows": [D(1), D(2)]},
    "mpe": D("0.30"),
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("runs.E", [D("0.10"), D("-0.25"), None]),
        ("runs[0].E", D("0.10")),
        ("runs[-1].E", None),
        ("runs[9].E", None),
        ('runs[1]["E"]', D("-0.25")),
        ("meta.type", "加油机"),
        ("meta.missing", None),
        ("meta.rows[1]", D(2)),
        ("nozzle.runs.E", [[D("1"), D("2")], [D("-3")]]),
        ("max(nozzle.runs.E)", D("2")),
        ("maxabs(nozzle.runs.E)", D("-3")),
        ("mean(runs.E)", D("-0.075")),
        ("count(runs.E)", D(2)),
        ("len(runs)", D(3)),
        ("round_gb(maxabs(runs.E), 0.1)", D("-0.2")),
        ("within(maxabs(runs.E), mpe)", True),
    ],
)
def test_paths_and_aggregates(source: str, expected: Any) -> None:
    assert evaluate(source, RECORD) == expected


def test_path_on_a_number_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="不能从数值中取字段") as info:
        evaluate("mpe.x", RECORD)
    assert info.value.code == "runtime"


# --- blanks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "r + 1",
        "-r",
        "r * 2 / 3",
        "r > 0",
        "0 < r < 1",
        "round_gb(r, 0.1)",
        "within(r, 0.3)",
        "decide(r, 0.3, 0.05)",
        '"ok" if r > 0 else "no"',
        "if(r > 0, 1, 2)",
        "abs(r)",
        "sqrt(r)",
    ],
)
def test_blank_reading_gives_blank_result(source: str) -> None:
    assert evaluate(source, {"r": None}) is None


def test_blank_helpers() -> None:
    assert evaluate("r or 0", {"r": None}) == D(0)
    assert evaluate("r is None", {"r": None}) is True
    assert evaluate("r is not None", {"r": D(1)}) is True
    assert evaluate("r == None", {"r": None}) is True
    assert evaluate("mean(a)", {"a": [None, None]}) is None
    assert evaluate("sum(a)", {"a": []}) is None


# --- functions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("abs(-2.5)", D("2.5")),
        ("min(3, 1, 2)", D(1)),
        ("max(a)", D(5)),
        ("max(a, 9)", D(9)),
        ("sum(a)", D(9)),
        ("mean(1, 2)", D("1.5")),
        ("sqrt(2)", D("1.414213562373095048801688724")),
        ("stdev(2, 4, 4, 4, 5, 5, 7, 9)", D("2.138089935299395")),
        ("stdev(1)", None),
        ("range(a)", D(4)),
        ("count(a)", D(3)),
        ("len(a)", D(4)),
        ('len("检定")', D(2)),
        ("first(a)", D(1)),
        ("last(a)", D(5)),
        ("maxabs(0.2, -0.3, 0.1)", D("-0.3")),
        ("maxabs(0.3, -0.3)", D("0.3")),
        ("round_gb(0.35, 0.1)", D("0.4")),
        ("within(0.33, 0.30)", False),
        ("decide(0.19, 0.30, 0.12)", "待定"),
        ('overall("合格", "待定")', "待定"),
        ('if(1 > 2, "a", "b")', "b"),
        ("if(x == 0, 0, 1 / x)", D(0)),  # lazy: the division is never run
        ('max("2025-01-02", "2025-03-01")', "2025-03-01"),
        ('"b" in ["a", "b"]', True),
        ('"检" in "检定"', True),
        ("not a", False),
        ("1 < 2 < 3", True),
        ("3 > 2 > 2", False),
        ("2 ** 10", D(1024)),
        ("2 ** -1", D("0.5")),
        ("7 // 2", D(3)),
        ("-7 % 3", D(-1)),  # Decimal semantics
        ("(1, 2)", [D(1), D(2)]),
    ],
)
def test_functions_and_operators(source: str, expected: Any) -> None:
    stdev_check = source.startswith("stdev(2")
    result = evaluate(source, {"a": [D(1), None, D(3), D(5)], "x": D(0)})
    if stdev_check:
        assert abs(result - expected) < D("1e-15")
    else:
        assert result == expected
        assert type(result) is type(expected)


def test_function_registry_is_listable() -> None:
    required = {
        "abs",
        "min",
        "max",
        "sum",
        "mean",
        "sqrt",
        "stdev",
        "range",
        "if",
        "count",
        "len",
        "first",
        "last",
        "maxabs",
        "round_gb",
        "within",
        "decide",
    }
    assert required <= set(FUNCTIONS)
    for name, spec in FUNCTIONS.items():
        assert spec.name == name and spec.zh and spec.en and spec.usage and spec.arity


def test_if_keyword_still_works_as_conditional() -> None:
    env = {"x": D(1)}
    assert evaluate('"a" if(x > 0) else "b"', env) == "a"
    assert evaluate("1 if x else if(x, 2, 3)", env) == D(1)
    assert compile_expression("if(x, 1, 2) + 1").functions == {"if"}
    with pytest.raises(ExpressionError) as info:
        compile_expression("_I(x, 1, 2)")
    assert info.value.code == "forbidden"


# --- compile: names, functions, refusals -----------------------------------------------------


def test_compiled_names_and_functions() -> None:
    compiled = compile_expression("within(max(runs.E), mpe)")
    assert isinstance(compiled, CompiledExpression)
    assert compiled.names == {"runs", "mpe"}
    assert compiled.functions == {"within", "max"}
    assert compiled.source == "within(max(runs.E), mpe)"
    assert compile_expression("示值误差 * 2").names == {"示值误差"}


@pytest.mark.parametrize(
    ("source", "code", "fragment"),
    [
        ("(1).real", "forbidden", "属性访问"),
        ('"".join(x)', "forbidden", "只能按名称调用函数"),
        ("x.__class__", "forbidden", "__class__"),
        ("x._private", "forbidden", "_private"),
        ('x["__globals__"]', "forbidden", "__globals__"),
        ("_x + 1", "forbidden", "_x"),
        ("__import__('os')", "forbidden", "__import__"),
        ("lambda: 1", "forbidden", "lambda"),
        ("[x for x in y]", "forbidden", "推导式"),
        ("{x: 1 for x in y}", "forbidden", "推导式"),
        ("(x for x in y)", "forbidden", "生成器"),
        ('f"{x}"', "forbidden", "f-字符串"),
        ("(y := 1)", "forbidden", ":="),
        ("max(*a)", "forbidden", "星号"),
        ("max(a, key=abs)", "forbidden", "关键字参数"),
        ("{1: 2}", "forbidden", "字典"),
        ("{1, 2}", "forbidden", "集合"),
        ("a[1:2]", "forbidden", "切片"),
        ("a[b]", "forbidden", "下标"),
        ("1 << 2", "forbidden", "位运算"),
        ("~1", "forbidden", "位运算"),
        ("a @ b", "forbidden", "@"),
        ("x is 1", "forbidden", "None"),
        ("max(a)(1)", "forbidden", "只能按名称调用函数"),
        ("open('x')", "unknown_function", "open"),
        ("getattr(x, 'y')", "unknown_function", "getattr"),
        ("eval('1')", "unknown_function", "eval"),
        ("import os", "syntax", "语法错误"),
        ("x = 1", "syntax", "语法错误"),
        ("1 +", "syntax", "语法错误"),
        ("", "syntax", "为空"),
        ("1j", "forbidden", "常量"),
        ("b'x'", "forbidden", "常量"),
        ("...", "forbidden", "常量"),
        ("1e99999", "limit", "范围"),
        ("x" + "+x" * 1000, "limit", "过长"),
        ("max(" + ", ".join(["x"] * 300) + ")", "limit", "复杂"),
        ("+".join(["x"] * 400), "limit", "嵌套"),
        ("-" * 150 + "1", "limit", "嵌套"),
        ("max(1, 2, 3)(4)", "forbidden", "函数"),
        ("abs(1, 2)", "arguments", "参数个数"),
    ],
)
def test_refused_at_compile_time(source: str, code: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source)
    assert info.value.code == code, info.value
    assert fragment in info.value.message, info.value.message


def test_error_attributes_and_position() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("1 + x.__class__")
    error = info.value
    assert isinstance(error, ValueError)
    assert error.source == "1 + x.__class__"
    assert error.position == 5
    assert str(error).startswith("不允许以下划线开头的名称") and "第 5 列" in str(error)
    with pytest.raises(ExpressionError) as info:
        compile_expression("  温度 + foo(1)")
    assert info.value.position == 8 and info.value.code == "unknown_function"


@pytest.mark.parametrize(
    ("source", "env", "code", "fragment"),
    [
        ("foo + 1", {}, "unknown_name", "未知名称 “foo”"),
        ("1 / x", {"x": D(0)}, "runtime", "除数为零"),
        ("1 // 0", {}, "runtime", "除数为零"),
        ("1 % 0", {}, "runtime", "除数为零"),
        ("0 ** -1", {}, "runtime", "除数为零"),
        ("2 ** 0.5", {}, "runtime", "整数"),
        ("2 ** 101", {}, "limit", "指数"),
        ("2 ** 99999999", {}, "limit", "指数"),
        ("(9 ** 99) ** 99", {}, "runtime", "超出范围"),
        ("1e900 * 1e900", {}, "runtime", "超出范围"),
        ("sqrt(-1)", {}, "runtime", "负数"),
        ('1 + "a"', {}, "runtime", "需要数值"),
        ('1 < "a"', {}, "runtime", "不能比较"),
        ("True + 1", {}, "runtime", "需要数值"),
        ("mean(s)", {"s": ["a"]}, "runtime", "需要数值"),
        ("round_gb(1.23, 0.3)", {}, "runtime", "修约间隔"),
        ("round_gb(1e500, 0.01)", {}, "runtime", "修约范围"),
        ("x", {"x": object()}, "runtime", "不支持的数据类型"),
        ("x", {"x": D("NaN")}, "runtime", "有限"),
    ],
)
def test_runtime_errors(source: str, env: dict, code: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate(source, env)
    assert info.value.code == code, info.value
    assert fragment in info.value.message, info.value.message


def test_runtime_error_position() -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate("a + b / c", {"a": D(1), "b": D(1), "c": D(0)})
    assert info.value.position == 5


def test_never_runs_eval_exec_or_a_code_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    real_compile = builtins.compile

    def only_ast(
        source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kw: Any
    ) -> Any:
        assert flags & ast.PyCF_ONLY_AST, "compile() used to make code"
        return real_compile(source, filename, mode, flags, *args, **kw)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec used")

    monkeypatch.setattr(builtins, "compile", only_ast)
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    assert evaluate("max(runs.E) * 2 + 0.000123456", RECORD) == D("0.200123456")


# --- names and dependencies ------------------------------------------------------------------


def test_check_names() -> None:
    check_names("a + b.c", ["a", "b"])
    with pytest.raises(ExpressionError) as info:
        check_names("a + zz + yy", ["a"])
    assert info.value.code == "unknown_name"
    assert "“zz”" in info.value.message and info.value.position == 5


def test_dependency_order() -> None:
    exprs = {
        key: compile_expression(src)
        for key, src in {
            "E": "(V_J - V_Bt) / V_Bt * 100",
            "V_Bt": "V_B * 1.0002",
            "V_B": "V0 - 1",
            "ok": "within(E, mpe)",
        }.items()
    }
    order = dependency_order(exprs)
    assert sorted(order) == sorted(exprs)
    assert order.index("V_B") < order.index("V_Bt") < order.index("E") < order.index("ok")


@pytest.mark.parametrize(
    ("exprs", "cycle"),
    [
        ({"a": "b + 1", "b": "a * 2"}, "a → b → a"),
        ({"x": "1", "a": "b", "b": "c", "c": "a"}, "a → b → c → a"),
        ({"a": "a + 1"}, "a → a"),
    ],
)
def test_dependency_cycle(exprs: dict[str, str], cycle: str) -> None:
    with pytest.raises(ExpressionError) as info:
        dependency_order(exprs)
    assert info.value.code == "cycle"
    assert cycle in info.value.message


@settings(deadline=None)  # no timing flakes on a loaded CI machine
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20))
def test_dependency_order_is_topological_or_reports_a_cycle(edges: list[tuple[int, int]]) -> None:
    deps: dict[str, set[str]] = {f"k{i}": set() for i in range(8)}
    for a, b in edges:
        deps[f"k{a}"].add(f"k{b}")
    exprs = {k: " + ".join(sorted(v)) or "1" for k, v in deps.items()}
    try:
        order = dependency_order(exprs)
    except ExpressionError as error:
        assert error.code == "cycle"
        names = error.message.split("：")[1].split(" (")[0].split(" → ")
        assert names[0] == names[-1]
        for a, b in zip(names, names[1:], strict=False):
            assert b in deps[a]
        return
    assert sorted(order) == sorted(exprs)
    for key, needs in deps.items():
        for need in needs:
            assert order.index(need) < order.index(key)


# --- fuzzing: refused or safe, never another exception, never a hang --------------------------


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def timeout(signum: int, frame: Any) -> None:
        raise TimeoutError("expression took too long")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


FUZZ_ENV = {
    "x": D("1.5"),
    "y": [D(1), None, D(3)],
    "runs": [{"E": D("0.1")}, {"E": D("-0.2")}],
    "s": "文本",
    "n": None,
    "d": {"a": D(1), "b": [D(2)]},
    "b": True,
}

FRAGMENTS = [
    "__class__",
    "__import__",
    ".mro",
    "lambda",
    "**99999999",
    "[x for x in y]",
    "open(",
    "getattr",
    "__builtins__",
    "globals()",
    "().__class__.__bases__[0]",
    "__subclasses__()",
    ".__globals__",
    "x.__dict__",
    "eval(",
    "exec(",
    "compile(",
    "if(",
    "if",
    "else",
    ":=",
    'f"{x}"',
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    ":",
    "'",
    '"',
    "\\",
    "\n",
    "#",
    "x",
    "y",
    "runs.E",
    "runs[0]",
    "d.b",
    "s",
    "n",
    "b",
    "1",
    "0.1",
    "9",
    "1e999",
    "-",
    "+",
    "*",
    "**",
    "/",
    "//",
    "%",
    "<",
    "==",
    "not",
    "and",
    "or",
    " in ",
    " is None",
    "max(",
    "mean(",
    "stdev(",
    "round_gb(",
    "maxabs(",
    "sqrt(",
    "within(",
    "decide(",
    " ",
    "0",
    "**2",
    "**100",
    "9**99",
    "*9**99",
    "yield",
    "await",
    "\x00",
]


def check_safe(source: str) -> None:
    with time_limit(5):
        try:
            compiled = compile_expression(source)
        except ExpressionError:
            return
        with suppress(ExpressionError):
            evaluate(compiled, FUZZ_ENV)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join))
def test_dangerous_fragments_are_refused_or_safe(source: str) -> None:
    check_safe(source)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_random_unicode_is_refused_or_safe(source: str) -> None:
    check_safe(source)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xy()+-*/%.,0123456789e ", max_size=80))
def test_random_arithmetic_is_refused_or_safe(source: str) -> None:
    check_safe(source)


def _expression_trees() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(
        ["x", "runs.E", "y", "n", "1", "0", "0.5", "-2", '"s"', "None", "True"]
    )

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(
            children,
            st.sampled_from(["+", "-", "*", "/", "**", "//", "%", "<", "==", "and", "or"]),
            children,
        )
        calls = st.tuples(
            st.sampled_from(sorted(FUNCTIONS)), st.lists(children, min_size=1, max_size=3)
        )
        return st.one_of(
            binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            calls.map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            children.map(lambda c: f"-{c}"),
        )

    return st.recursive(leaves, extend, max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_expression_trees())
def test_well_formed_expressions_only_raise_expression_error(source: str) -> None:
    check_safe(source)


def test_limits_are_enforced_quickly() -> None:
    expensive: list[Callable[[], Any]] = [
        lambda: evaluate("9**99**99", {}),
        lambda: evaluate("(1.0000001 ** 100) ** 100", {}),
        lambda: evaluate("1e999 * 10", {}),
        lambda: evaluate("1e900 // 3", {}),
        lambda: evaluate("(" * 300 + "1" + ")" * 300, {}),
    ]
    for run in expensive:
        with time_limit(2), suppress(ExpressionError):
            run()
