"""No payment-provider name as a bare string outside the registry (billing/providers/): app code gives
and compares providers through its constants (`providers.STRIPE`), so a provider is renamed or added in
one place."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("billing", "offers", "portal", "integrations")


def _is_provider_field(node) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "provider") or (
        isinstance(node, ast.Name) and node.id == "provider")


def _names(node) -> list[str]:
    """String constants in a value, a tuple/list/set of values, or a conditional expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [n for elt in node.elts for n in _names(elt)]
    if isinstance(node, ast.IfExp):
        return _names(node.body) + _names(node.orelse)
    return []


def _bare_names(tree) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        values = []
        if isinstance(node, ast.keyword) and node.arg and node.arg.split("__")[0] == "provider":
            values = _names(node.value)
        elif isinstance(node, ast.Compare) and any(map(_is_provider_field, [node.left, *node.comparators])):
            values = [n for side in [node.left, *node.comparators] for n in _names(side)]
        elif isinstance(node, ast.Dict):
            values = [n for k, v in zip(node.keys, node.values, strict=True)
                      if isinstance(k, ast.Constant) and k.value == "provider" for n in _names(v)]
        elif isinstance(node, ast.arguments):  # def f(*, provider="…")
            positional = [*node.posonlyargs, *node.args]
            pairs = [*zip(positional[len(positional) - len(node.defaults):], node.defaults, strict=True),
                     *zip(node.kwonlyargs, node.kw_defaults, strict=True)]
            found += [(default.lineno, n) for arg, default in pairs if arg.arg == "provider" and default is not None
                      for n in _names(default)]
        found += [(getattr(node, "lineno", 0), value) for value in values if value]
    return sorted(found)


def bare_provider_names() -> list[str]:
    """Every place app code gives or compares a provider as a string literal: `provider="…"` (call
    keyword or field lookup), `x.provider == "…"` / `in (…)`, `{"provider": "…"}`."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in path.parts or rel.parts[:2] == ("billing", "providers"):
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            found += [f"{rel}:{line} {value!r}" for line, value in _bare_names(tree)]
    return found


def test_the_scan_finds_each_way_of_writing_a_provider_name():
    source = ('Payment.objects.filter(provider="stripe")\n'
              'CheckoutAttempt.objects.filter(provider__in=["local"])\n'
              'if p.provider != "local": pass\n'
              'x = {"provider": "bank"}\n'
              'if p.provider in ("stripe", "manual"): pass\n'
              'Payment.objects.filter(provider=providers.STRIPE, method="card")\n'
              'def register(*, invoice, method="card", provider="manual"): pass\n')
    assert _bare_names(ast.parse(source)) == [
        (1, "stripe"), (2, "local"), (3, "local"), (4, "bank"), (5, "manual"), (5, "stripe"), (7, "manual")]


def test_no_provider_name_as_a_bare_string_outside_the_registry():
    assert bare_provider_names() == []
