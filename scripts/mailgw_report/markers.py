"""Read the requirement markers of the verification tests without running them.

The tests need a running lab even to be collected (their parameters come
from the lab manifest), so the requirement-to-test mapping for the docs is
read from the source: the module's pytestmark and each test function's
decorators.
"""

import ast
import dataclasses
import pathlib


class MarkerError(ValueError):
    """A requirement marker that cannot be read from the source."""


@dataclasses.dataclass
class TestFunction:
    path: str
    name: str
    summary: str
    requirements: list

    @property
    def node_id(self):
        return "%s::%s" % (self.path, self.name)


def _marker_name(node):
    """Return "requirement" for pytest.mark.requirement(...), else the
    name after pytest.mark, else None."""
    target = node.func if isinstance(node, ast.Call) else node
    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute)
            and target.value.attr == "mark"):
        return target.attr
    return None


def _requirements_of(node, where):
    if _marker_name(node) != "requirement" or not isinstance(node, ast.Call):
        return []
    ids = []
    for argument in node.args:
        if not isinstance(argument, ast.Constant) or not isinstance(argument.value, str):
            raise MarkerError("%s: write the arguments of pytest.mark.requirement as string literals" % where)
        ids.append(argument.value)
    return ids


def _module_requirements(tree, where):
    ids = []
    for statement in tree.body:
        if not isinstance(statement, ast.Assign):
            continue
        if not any(isinstance(target, ast.Name) and target.id == "pytestmark" for target in statement.targets):
            continue
        value = statement.value
        for node in value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]:
            ids += _requirements_of(node, where)
    return ids


def scan_file(path, root):
    """Return the test functions of one test module with their requirements:
    the module's, then the function's own, each once."""
    relative = pathlib.Path(path).relative_to(root).as_posix()
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"), filename=relative)
    module_ids = _module_requirements(tree, relative)
    found = []
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef) or not statement.name.startswith("test"):
            continue
        where = "%s::%s" % (relative, statement.name)
        ids = list(module_ids)
        for decorator in statement.decorator_list:
            ids += [value for value in _requirements_of(decorator, where) if value not in ids]
        docstring = ast.get_docstring(statement) or ""
        summary = " ".join(docstring.split("\n\n")[0].split())
        found.append(TestFunction(relative, statement.name, summary, ids))
    return found


def scan_tests(directory, root):
    """Return the test functions of every test_*.py module in directory."""
    found = []
    for path in sorted(pathlib.Path(directory).glob("test_*.py")):
        found += scan_file(path, root)
    return found
