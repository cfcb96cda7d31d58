"""User-typed loss surfaces f(x, y): a whitelist over Python's AST, turned into a tree of torch closures.

Grammar: numbers (decimal, finite), the names x y pi e, + - * / and ^ or ** (power), unary + and -,
parentheses, and calls of ALLOWED_FUNCTIONS with positional arguments. Nothing else is accepted, and
the user's text is only ever parsed, never run.

One module of ~450 lines on purpose: it is the security boundary for user text, and a reviewer should read
every check (characters, numbers, size, names, calls, powers) and the compiler they guard in one place.
"""

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

Fn = Callable[[Tensor, Tensor], Tensor]
Term = float | Fn  # a compiled node: a folded constant, or a function of (x, y)


class ExpressionError(ValueError):
    """A refused expression; `message` says what and where, `column` is 1-based in the user's text."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class ExpressionLimits:
    max_length: int = 300  # characters of user text; checked before any parsing
    max_nodes: int = 200  # AST nodes, not counting operator and context markers
    max_depth: int = 40  # AST depth; also bounds the compiler's recursion
    max_exponent: float = 64.0  # largest |p| allowed when the exponent p of a ** p is a constant

    def __post_init__(self) -> None:
        if min(self.max_length, self.max_nodes, self.max_depth) < 1 or not self.max_exponent > 0:
            raise ValueError(f"expression limits must be positive, got {self}")
        if self.max_depth > 200:  # the compiler recurses once per level; Python's stack allows ~1000
            raise ValueError(f"max_depth must be at most 200, got {self.max_depth}")


DEFAULT_LIMITS = ExpressionLimits()


@dataclass(frozen=True)
class CompiledExpression:
    text: str  # the user's text as given
    fn: Fn  # elementwise f(x, y) over same-shape tensors; differentiable by autograd

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.fn(x, y)


class Function(NamedTuple):
    arity: int
    impl: Callable[..., Tensor]


ALLOWED_FUNCTIONS: dict[str, Function] = {
    "sin": Function(1, torch.sin),
    "cos": Function(1, torch.cos),
    "tan": Function(1, torch.tan),
    "exp": Function(1, torch.exp),
    "log": Function(1, torch.log),  # natural logarithm
    "sqrt": Function(1, torch.sqrt),
    "abs": Function(1, torch.abs),
    "tanh": Function(1, torch.tanh),
    "sinh": Function(1, torch.sinh),
    "cosh": Function(1, torch.cosh),
    "asin": Function(1, torch.asin),
    "acos": Function(1, torch.acos),
    "atan": Function(1, torch.atan),
    "sigmoid": Function(1, torch.sigmoid),  # 1 / (1 + e^-t)
    "relu": Function(1, torch.relu),  # max(t, 0)
    "softplus": Function(1, torch.nn.functional.softplus),  # log(1 + e^t)
    "min": Function(2, torch.minimum),
    "max": Function(2, torch.maximum),
    "atan2": Function(2, torch.atan2),  # atan2(a, b): angle of the point (b, a)
    "hypot": Function(2, torch.hypot),  # sqrt(a^2 + b^2)
}
ALLOWED_NAMES = ("x", "y", "pi", "e")
_CONSTANTS = {"pi": math.pi, "e": math.e}
_LARGEST_POWER = 300  # a folded constant power must stay within 10^300

_CHARACTER_HINT = "expressions use ASCII letters, digits and + - * / ^ ( ) , ."
_NUMBER_HINT = "numbers are written like 3, 0.5 or 1e-3, and products need '*', as in 2*x"
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",  # unreachable, ^ is read as power; kept so no operator falls through
    ast.Not: "not",
    ast.Invert: "~",
}
_REFUSED_CONSTANTS: dict[type, str] = {
    bool: "booleans are not allowed",
    complex: "complex numbers are not allowed",
    str: "strings are not allowed",
    bytes: "bytes are not allowed",
    type(None): "None is not allowed",
    type(...): "'...' is not allowed",
}
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts are not allowed",
    ast.Slice: "slices are not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.IfExp: "conditional expressions (if/else) are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "boolean operators (and, or) are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.List: "lists are not allowed",
    ast.Set: "sets are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Starred: "starred expressions are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}
_UNCOUNTED = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)


def compile_expression(text: str, limits: ExpressionLimits = DEFAULT_LIMITS) -> CompiledExpression:
    """Check `text` against the grammar and build f(x, y) from torch ops; raise ExpressionError if refused."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be text, got {type(text).__name__}")
    if len(text) > limits.max_length:
        raise ExpressionError(f"expression too long: {len(text)} characters (limit {limits.max_length})")
    _check_characters(text)
    if not text.strip():
        raise ExpressionError("expression is empty")
    _check_numbers(text)
    source = _Source(text)
    tree = source.parse(limits)
    _check_size(tree.body, limits)
    term = _Compiler(source, limits).term(tree.body)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return CompiledExpression(text, _whole(term, used))


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if not " " <= ch <= "~":  # printable ASCII only: stops look-alikes, NUL, newlines, zero-widths
            raise ExpressionError(
                f"unexpected character U+{ord(ch):04X} at column {i + 1}; {_CHARACTER_HINT}", i + 1
            )
        if ch in "'\"":  # no string ever reaches the parser, so neither do its escape warnings
            raise ExpressionError(f"strings are not allowed at column {i + 1}", i + 1)
        if ch == "#":
            raise ExpressionError(f"comments ('#') are not allowed at column {i + 1}", i + 1)


def _check_numbers(text: str) -> None:
    """Accept only decimal numbers not glued to a letter ('2x', '1if', '0x1f', '1j').

    Python's tokenizer only warns about some of these (DeprecationWarning for '1if'), which would make
    the outcome depend on the process's warning filters; refusing them here keeps it deterministic.
    """
    i, n = 0, len(text)
    while i < n:
        if text[i].isalpha() or text[i] == "_":
            i = _skip_word(text, i, "_")
        elif text[i].isdigit() or (text[i] == "." and text[i + 1 : i + 2].isdigit()):
            end = _digits(text, i)
            if text[end : end + 1] == ".":
                end = _digits(text, end + 1)
            if text[end : end + 1] in ("e", "E"):
                sign = end + 2 if text[end + 1 : end + 2] in ("+", "-") else end + 1
                if text[sign : sign + 1].isdigit():
                    end = _digits(text, sign)
            if end < n and (text[end].isalnum() or text[end] in "_."):
                word = text[i : _skip_word(text, end, "_.")]
                raise ExpressionError(f"invalid number '{word}' at column {i + 1}; {_NUMBER_HINT}", i + 1)
            i = end
        else:
            i += 1


def _digits(text: str, i: int) -> int:
    while i < len(text) and text[i].isdigit():
        i += 1
    return i


def _skip_word(text: str, i: int, also: str) -> int:
    while i < len(text) and (text[i].isalnum() or text[i] in also):
        i += 1
    return i


class _Source:
    """The text Python parses (^ spelled **, leading spaces dropped) and the way back to user columns."""

    def __init__(self, text: str) -> None:
        self.text = text
        parts: list[str] = []
        self._origin: list[int] = []  # offset in the parsed text -> index in the user's text
        for i in range(len(text) - len(text.lstrip(" ")), len(text)):
            parts.append("**" if text[i] == "^" else text[i])
            self._origin.extend([i] * len(parts[-1]))
        self._origin.append(len(text))
        self.python = "".join(parts)  # ASCII, so the AST's byte offsets are character offsets

    def column(self, offset: int) -> int:
        return self._origin[max(0, min(offset, len(self._origin) - 1))] + 1

    def snippet(self, node: ast.expr) -> str:
        start = self._origin[node.col_offset]
        end = self._origin[max(node.col_offset, (node.end_col_offset or 1) - 1)] + 1
        shown = self.text[start:end]
        return shown if len(shown) <= 40 else shown[:37] + "..."

    def parse(self, limits: ExpressionLimits) -> ast.Expression:
        too_deep = f"expression nested too deeply (limit {limits.max_depth})"
        try:
            return ast.parse(self.python, mode="eval")
        except SyntaxError as exc:
            if exc.msg == "too many nested parentheses":
                raise ExpressionError(too_deep) from exc
            msg, column = exc.msg, len(self.text.rstrip()) + 1
            if exc.offset:
                column = self.column(exc.offset - 1)
            elif msg == "invalid syntax":  # Python reports offset 0 when the text stops mid-expression
                msg = "unexpected end of expression"
            raise ExpressionError(f"syntax error at column {column}: {msg}", column) from exc
        except (RecursionError, MemoryError) as exc:  # the parser's own stack limits
            raise ExpressionError(too_deep) from exc


def _check_size(root: ast.expr, limits: ExpressionLimits) -> None:
    """Count nodes and measure depth without recursion, so a deep tree cannot exhaust the stack."""
    count, deepest = 0, 0
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, _UNCOUNTED):
            continue
        count += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    if count > limits.max_nodes:
        raise ExpressionError(f"expression too complex: {count} nodes (limit {limits.max_nodes})")
    if deepest > limits.max_depth:
        raise ExpressionError(f"expression nested too deeply (limit {limits.max_depth})")


class _Compiler:
    """Turn a size-checked AST into a Term, refusing everything outside the grammar, left to right."""

    def __init__(self, source: _Source, limits: ExpressionLimits) -> None:
        self.source = source
        self.limits = limits

    def error(self, what: str, offset: int, tail: str = "") -> ExpressionError:
        column = self.source.column(offset)
        return ExpressionError(f"{what} at column {column}{tail}", column)

    def term(self, node: ast.expr) -> Term:
        handler = {
            ast.Constant: self.constant,
            ast.Name: self.name,
            ast.UnaryOp: self.unary,
            ast.BinOp: self.binary,
            ast.Call: self.call,
        }.get(type(node))
        if handler is not None:
            return handler(node)
        offset = node.col_offset
        if isinstance(node, ast.Attribute | ast.Subscript):
            # point at the first '.' or '[' of a chain such as ().__class__.__bases__[0]
            node = _first_access(node)
            offset = self.source.python.find(
                "." if isinstance(node, ast.Attribute) else "[", node.value.end_col_offset
            )
        what = _REFUSED_NODES.get(type(node), f"{type(node).__name__} expressions are not allowed")
        raise self.error(what, offset)

    def constant(self, node: ast.Constant) -> float:
        if type(node.value) not in (int, float):
            what = _REFUSED_CONSTANTS.get(
                type(node.value), f"{type(node.value).__name__} values are not allowed"
            )
            raise self.error(what, node.col_offset)
        try:
            value = float(node.value)
        except OverflowError:  # an int literal beyond the float range
            value = math.inf
        if not math.isfinite(value):  # 1e999 parses as inf
            raise self.error("number too large", node.col_offset)
        return value

    def name(self, node: ast.Name) -> Term:
        if node.id in ("x", "y"):
            return _x if node.id == "x" else _y
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in ALLOWED_FUNCTIONS:
            raise self.error(
                f"function '{node.id}' needs arguments", node.col_offset, f"; write {node.id}(...)"
            )
        raise self.error(
            f"unknown name '{node.id}'", node.col_offset, f"; allowed: {', '.join(ALLOWED_NAMES)}"
        )

    def unary(self, node: ast.UnaryOp) -> Term:
        if type(node.op) in _REFUSED_OPERATORS:
            raise self.error(
                f"the '{_REFUSED_OPERATORS[type(node.op)]}' operator is not allowed", node.col_offset
            )
        operand = self.term(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(operand, float):
            return -operand
        return lambda x, y: -operand(x, y)

    def binary(self, node: ast.BinOp) -> Term:
        left = self.term(node.left)
        if type(node.op) in _REFUSED_OPERATORS:
            symbol = _REFUSED_OPERATORS[type(node.op)]
            at = self.source.python.find(symbol, node.left.end_col_offset or 0, node.right.col_offset)
            raise self.error(f"the '{symbol}' operator is not allowed", at if at >= 0 else node.col_offset)
        right = self.term(node.right)
        if isinstance(node.op, ast.Pow):
            self.check_power(node, left, right)
        op = _BINARY[type(node.op)]
        if isinstance(left, float) and isinstance(right, float):
            return self.fold(node, op, left, right)
        if isinstance(left, float):
            return lambda x, y: op(left, right(x, y))
        if isinstance(right, float):
            return lambda x, y: op(left(x, y), right)
        return lambda x, y: op(left(x, y), right(x, y))

    def check_power(self, node: ast.BinOp, base: Term, exponent: Term) -> None:
        """Bound a constant exponent, and a constant power by its logarithm, before anything is computed."""
        if not isinstance(exponent, float):
            return  # x**y may overflow at run time; the engine's divergence check handles that
        if not abs(exponent) <= self.limits.max_exponent:
            raise self.error(
                "exponent too large", node.right.col_offset, f" (limit {self.limits.max_exponent:g})"
            )
        if isinstance(base, float) and base != 0 and exponent * math.log10(abs(base)) > _LARGEST_POWER:
            raise self.error("power too large", node.col_offset, f" (limit 1e{_LARGEST_POWER})")

    def call(self, node: ast.Call) -> Term:
        func = node.func
        if isinstance(func, ast.Attribute | ast.Subscript):
            return self.term(func)  # refused, and reported where the chain starts
        if not isinstance(func, ast.Name):
            at = self.source.python.find("(", func.end_col_offset or 0)
            raise self.error("only named functions can be called", at, "; use '*' to multiply")
        if func.id in ALLOWED_NAMES:
            raise self.error(
                f"'{func.id}' is not a function",
                func.col_offset,
                f"; use '*' to multiply, as in {func.id}*(...)",
            )
        spec = ALLOWED_FUNCTIONS.get(func.id)
        if spec is None:
            allowed = ", ".join(sorted(ALLOWED_FUNCTIONS))
            raise self.error(f"unknown function '{func.id}'", func.col_offset, f"; allowed: {allowed}")
        odd = [a for a in node.args if isinstance(a, ast.Starred)] + list(node.keywords)
        if odd:
            first = min(odd, key=lambda a: a.col_offset)
            kind = "starred" if isinstance(first, ast.Starred) else "keyword"
            raise self.error(f"{kind} arguments are not allowed", first.col_offset)
        if len(node.args) != spec.arity:
            plural = "" if spec.arity == 1 else "s"
            got = len(node.args)
            raise self.error(f"{func.id} takes {spec.arity} argument{plural}, got {got}", node.col_offset)
        args = [self.term(arg) for arg in node.args]
        if all(isinstance(arg, float) for arg in args):
            return self.fold(node, spec.impl, *args)
        fns = [_lift(arg) for arg in args]
        if len(fns) == 1:
            return lambda x, y: spec.impl(fns[0](x, y))
        return lambda x, y: spec.impl(fns[0](x, y), fns[1](x, y))

    @torch.no_grad()
    def fold(self, node: ast.expr, op: Callable[..., Any], *args: float) -> float:
        """Compute a constant with the same torch op the runtime would use, and keep it only if finite."""
        value = float(op(*(torch.tensor(a, dtype=torch.float64) for a in args)).item())
        if not math.isfinite(value):
            raise self.error(
                f"'{self.source.snippet(node)}' is not a finite number ({value})", node.col_offset
            )
        return value


def _first_access(node: ast.Attribute | ast.Subscript) -> ast.Attribute | ast.Subscript:
    probe: ast.expr = node
    while isinstance(probe, ast.Attribute | ast.Subscript | ast.Call):
        probe = probe.func if isinstance(probe, ast.Call) else probe.value
        if isinstance(probe, ast.Attribute | ast.Subscript):
            node = probe
    return node


def _x(x: Tensor, y: Tensor) -> Tensor:
    return x


def _y(x: Tensor, y: Tensor) -> Tensor:
    return y


def _lift(term: Term) -> Fn:
    """A constant argument of a two-argument torch function must be a tensor; a 0-d one broadcasts."""
    if not isinstance(term, float):
        return term
    return lambda x, y: torch.as_tensor(term, dtype=x.dtype, device=x.device)


def _whole(term: Term, used: set[str]) -> Fn:
    """Make the result a new tensor of the inputs' shape that autograd links to both x and y.

    A variable the text never mentions still gets a gradient of 0 instead of None, and a constant
    such as `pi` still gives one value per point.
    """
    if isinstance(term, float):
        return lambda x, y: x * 0.0 + y * 0.0 + term
    if "y" not in used:
        return lambda x, y: term(x, y) + y * 0.0
    if "x" not in used:
        return lambda x, y: term(x, y) + x * 0.0
    return term
