"""Every named view of the checked namespaces has rows in a permission matrix."""

import importlib
from pathlib import Path

from django.urls import get_resolver

# Namespaces whose every named URL must appear in some tests/**/test_*permissions.py
# (e.g. test_permissions.py, test_access_permissions.py).
# An app joins once its rows exist (see tests/matrix.py, "How to add a view").
CHECKED_NAMESPACES = ("projects", "identities", "docker_repos")
# Views of other namespaces that are already in the matrix and must stay there.
ALSO_REQUIRED = {"docker_repos:project-repos"}


def matrix_cases():
    root = Path(__file__).resolve().parent
    cases = []
    for path in sorted(root.rglob("test_*permissions.py")):
        dotted = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        cases += importlib.import_module(dotted).CASES
    return cases


def required_views() -> dict[str, object]:
    """{"namespace:name": view class} of every view the matrix must cover."""
    views = {}
    for namespace, (_, resolver) in get_resolver().namespace_dict.items():
        for pattern in resolver.url_patterns:
            if not getattr(pattern, "name", None):  # unnamed, or an included URLconf
                continue
            name = f"{namespace}:{pattern.name}"
            if namespace in CHECKED_NAMESPACES or name in ALSO_REQUIRED:
                views[name] = getattr(pattern.callback, "view_class", None)
    return views


def test_every_view_has_a_row_in_the_matrix():
    views = required_views()
    assert ALSO_REQUIRED <= views.keys()
    assert len(views) > 10
    covered = {case.url_name for case in matrix_cases()}
    assert sorted(views.keys() - covered) == []


def test_every_view_has_a_row_for_each_method_it_answers():
    """A view that takes POST has a POST row (a refused POST must change nothing), and a
    view that shows a page has a GET row."""
    rows = {(case.url_name, case.method) for case in matrix_cases()}
    missing = []
    for name, view_class in required_views().items():
        for method in ("get", "post"):
            if hasattr(view_class, method) and (name, method) not in rows:
                missing.append(f"{method.upper()} {name}")
    assert missing == []
