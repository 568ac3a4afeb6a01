"""Dependency direction, read from the source (DESIGN §3): `loans` depends on nothing of ours,
`notifications` on `loans`, `debt_collection` on both, `portal` on all three, and no app on the
tests. Every import counts, wherever it is written: inside a function, under TYPE_CHECKING, in
a migration, or as a literal string handed to import_module, __import__ or import_string.
Names that are merely strings (permission codenames, settings values) are not imports."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each app must never import.
FORBIDDEN = {
    "loans": {"notifications", "debt_collection", "portal", "tests"},
    "notifications": {"debt_collection", "portal", "tests"},
    "debt_collection": {"portal", "tests"},
    "portal": {"tests"},
}

# Calls whose first argument names a module (import_string: a dotted path to an attribute).
IMPORTING_CALLS = {"import_module", "__import__", "import_string"}


def _package_of(relative: Path) -> list[str]:
    """The package a module's relative imports start from: the folder it is in."""
    return list(relative.parent.parts)


def _resolve(package: list[str], level: int, module: str | None) -> str | None:
    """The absolute name a relative import reaches (None when it climbs above the top)."""
    if level == 0:
        return module
    if level - 1 >= len(package):
        return None
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal_module(node: ast.expr) -> str | None:
    """The module a call argument names, when the source says it: a string literal, or an
    f-string whose literal start already holds the top package (f"notifications.{x}")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and "." in first.value:
            return first.value
    return None


def imported_modules(source: str, relative: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in one file."""
    package = _package_of(relative)
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=str(relative))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(package, node.level, node.module)
            if base is None:
                continue
            if node.module:
                found.append((node.lineno, base))
            else:  # `from . import x` imports the package's submodule x
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and _call_name(node.func) in IMPORTING_CALLS:
            if not node.args:
                continue
            name = _literal_module(node.args[0])
            if name is None:
                continue
            level = len(name) - len(name.lstrip("."))
            if level:
                anchor = next(
                    (_literal_module(k.value) for k in node.keywords if k.arg == "package"),
                    None,
                )
                anchor_package = anchor.split(".") if anchor else package
                resolved = _resolve(anchor_package, level, name[level:] or None)
                if resolved is None:
                    continue
                name = resolved
            found.append((node.lineno, name))
    return sorted(found)


def violations(source: str, relative: Path) -> list[str]:
    """ "file:line imports module" for each import the file's app must not make."""
    forbidden = FORBIDDEN[relative.parts[0]]
    return [
        f"{relative.as_posix()}:{line} imports {module}"
        for line, module in imported_modules(source, relative)
        if module.split(".")[0] in forbidden
    ]


def app_files(app: str) -> list[Path]:
    return sorted(p for p in (ROOT / app).rglob("*.py") if "__pycache__" not in p.parts)


def test_apps_import_only_downwards():
    offending = []
    for app in FORBIDDEN:
        files = app_files(app)
        assert files, f"no Python files found under {app}/: is ROOT ({ROOT}) right?"
        for path in files:
            offending += violations(path.read_text(encoding="utf-8"), path.relative_to(ROOT))
    assert not offending, "imports against the dependency direction:\n" + "\n".join(offending)


def test_every_app_is_checked_including_migrations():
    checked = {p.relative_to(ROOT).parts[:2] for app in FORBIDDEN for p in app_files(app)}
    for app in ("loans", "notifications", "debt_collection"):
        assert (app, "migrations") in checked


OFFENDING = """\
import notifications
import json, debt_collection.models as dc
from portal.views import home
from tests import factories
from .. import notifications as not_ours  # loans/services/.. is loans: a loans module
from ...notifications import x  # above the top package: not a real import, Python fails

def later():
    from notifications.services import send_sms
    import importlib
    importlib.import_module("debt_collection.services")
    mod = __import__("portal")
    import_string("notifications.backends.locmem.SmsBackend")
    import_module(f"notifications.{name}")
    import_module(".tasks", package="debt_collection")

if TYPE_CHECKING:
    from debt_collection.models import Case

PERMISSIONS = ["notifications.view_sms", "collections.view_case", "portal"]
import_module(f"{app_config.name}.roles")
import collections
from django.utils.module_loading import import_string
"""


@pytest.mark.parametrize(
    "relative, expected_lines",
    [
        (Path("loans/services/example.py"), [1, 2, 3, 4, 9, 11, 12, 13, 14, 15, 18]),
        (Path("notifications/example.py"), [2, 3, 4, 11, 12, 15, 18]),
        (Path("debt_collection/migrations/0099_example.py"), [3, 4, 12]),
        (Path("portal/views/example.py"), [4]),
    ],
)
def test_the_checker_flags_every_kind_of_import_and_nothing_else(relative, expected_lines):
    flagged = violations(OFFENDING, relative)
    assert [int(v.split(":")[1].split()[0]) for v in flagged] == expected_lines, flagged
    assert all(v.startswith(f"{relative.as_posix()}:") for v in flagged)


def test_relative_imports_resolve_to_their_package():
    source = "from . import models\nfrom ..notifications import sms\nfrom .models import X\n"
    assert imported_modules(source, Path("loans/services/x.py")) == [
        (1, "loans.services.models"),
        (2, "loans.notifications"),
        (3, "loans.services.models"),
    ]
    # One level above notifications/ is outside the project: Python refuses it, so no import.
    assert imported_modules(source, Path("notifications/x.py")) == [
        (1, "notifications.models"),
        (3, "notifications.models"),
    ]
