"""The house's structure, checked from the source text alone (`ast`, no TensorFlow import).

- Import graph of `saccader_tf`: no cycles between modules, and no room imports a higher one in
  the order `utils < layers < models < data < model_dir < evaluation < training < export <
  inference < run < cli` (docs/design.md, "Layout"). Inside `models`, a model folder imports
  another only where `SIBLING_IMPORTS` allows it. The top-level `saccader_tf/__init__.py` (lazy
  exports) and `saccader_tf/launch.py`, `saccader_tf/convert.py` and `saccader_tf/data_service.py`
  (the commands' shims) are exempt.
- Sizes: no module over 400 lines, no function over 60 code lines (blank lines, comments and
  docstrings not counted) in `saccader_tf/`, `benchmarks/`, `launch/` and `tests/`.
- `saccader_tf` never imports `benchmarks` (not installed) and cites no "DESIGN §" section or
  issue number.

Every failure message lists every violation with its file and line.
"""

import ast
import io
import os
import re
import textwrap
import tokenize
import unittest

from tests.support.paths import REPO_ROOT

PACKAGE = "saccader_tf"
ROOMS = (
    "utils",
    "layers",
    "models",
    "data",
    "model_dir",
    "evaluation",
    "training",
    "export",
    "inference",
    "run",
    "cli",
)
"""Lowest first: a room imports only rooms before it."""
EXEMPT = (
    "saccader_tf",
    "saccader_tf.launch",
    "saccader_tf.convert",
    "saccader_tf.data_service",
)
"""Modules outside the rooms: the lazy top-level exports and the `python -m` shims."""
NEVER = {
    ("models", "data"): "models are built without any data source",
    ("models", "training"): "models know nothing of their trainers",
    ("evaluation", "training"): "evaluation reads trained weights, it never trains",
}
"""Pairs the order already forbids, named here for their reason."""
SUB_ROOMS = {"models": ("bagnet", "saccader", "classnet", "dram")}
"""Rooms whose folders are at the same level: none imports another unless listed below (each
may import the room's own top-level modules, e.g. `models/geometry.py`)."""
SIBLING_IMPORTS = {
    ("models", "saccader", "bagnet"),  # the Saccader's representation network is a BagNet
    ("models", "classnet", "saccader"),  # Saccader-ClassNet takes its glimpses from a Saccader
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_CODE_LINES = 60
SIZE_CHECKED = ("saccader_tf", "benchmarks", "launch", "tests")
FORBIDDEN_TEXT = (
    (re.compile(r"DESIGN §"), 'cites "DESIGN §" (cite a docs/ page or explain)'),
    (re.compile(r"\bissue\s+#?\d+", re.IGNORECASE), "cites an issue number (explain instead)"),
)


def python_files(*folders):
    """Repository-relative paths of the `.py` files under `folders` (sorted)."""
    paths = []
    for folder in folders:
        for root, dirs, files in os.walk(os.path.join(REPO_ROOT, folder)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            paths += [os.path.join(root, f) for f in sorted(files) if f.endswith(".py")]
    return [os.path.relpath(path, REPO_ROOT) for path in paths]


def module_name(path):
    """`saccader_tf/models/__init__.py` → `saccader_tf.models`; `a/b.py` → `a.b`."""
    parts = path[: -len(".py")].split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _read(path):
    with open(os.path.join(REPO_ROOT, path), encoding="utf-8") as f:
        return f.read()


def imported_names(tree, module, is_package, known):
    """`(line, name)` of every import in `tree` (module level and inside functions).

    `from a.b import c` gives `a.b.c` when that is a module in `known`, else `a.b`; relative
    imports are resolved against `module` (a package when `is_package`).
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append((node.lineno, name if name in known else base))
    return found


def package_imports(package=PACKAGE):
    """`{module: [(path, line, imported name), ...]}` for every module of `package`."""
    paths = {module_name(p): p for p in python_files(package)}
    imports = {}
    for module, path in paths.items():
        tree = ast.parse(_read(path), filename=path)
        is_package = path.endswith("__init__.py")
        imports[module] = [
            (path, line, name) for line, name in imported_names(tree, module, is_package, paths)
        ]
    return imports


def resolve(name, known):
    """The longest prefix of the dotted `name` that is a module in `known` (or `None`)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def internal_edges(imports):
    """`{module: {imported module: (path, line)}}` within the package (self-imports dropped)."""
    edges = {}
    for module, found in imports.items():
        edges[module] = {}
        for path, line, name in found:
            target = resolve(name, imports)
            if target and target != module:
                edges[module].setdefault(target, (path, line))
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def room_of(module):
    """`saccader_tf.models.dram.dram` → `("models", "dram")`; a room's top-level module (or its
    `__init__`) → `(room, None)`."""
    parts = module.split(".")[1:] or [""]
    room = parts[0]
    folder = parts[1] if len(parts) > 1 and parts[1] in SUB_ROOMS.get(room, ()) else None
    return room, folder


def layering_problem(source, target):
    """Why `source` may not import `target` (both package modules), or `None` when it may."""
    if source in EXEMPT:
        return None
    if target in EXEMPT:
        return f"imports {target}, which is outside the rooms (import from a room's module)"
    (room, folder), (target_room, target_folder) = room_of(source), room_of(target)
    for name in (room, target_room):
        if name not in ROOMS:
            return f"room {name!r} is not in the order {' < '.join(ROOMS)}: add it to ROOMS"
    if (room, target_room) in NEVER:
        return f"{room} imports {target_room}: {NEVER[(room, target_room)]}"
    if ROOMS.index(target_room) > ROOMS.index(room):
        return f"{room} imports the higher room {target_room} ({' < '.join(ROOMS)})"
    if room == target_room and target_folder and target_folder != folder:
        if folder is None:
            if source != f"{PACKAGE}.{room}":  # the room's `__init__` re-exports its folders
                return f"{room}'s shared module imports its folder {target_folder}"
        elif (room, folder, target_folder) not in SIBLING_IMPORTS:
            return f"{room}/{folder} imports {room}/{target_folder} (not in SIBLING_IMPORTS)"
    return None


def code_lines(source):
    """Line numbers (1-based) holding code: not blank, not only a comment, not a docstring."""
    lines = set()
    skipped = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped:
            lines.update(range(token.start[0], token.end[0] + 1))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    lines.difference_update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def long_functions(source, limit=MAX_FUNCTION_CODE_LINES):
    """`[(line, name, code lines)]` of the functions (nested ones included, each counting its
    whole body) with more than `limit` code lines, from the `def` line to the last line."""
    code = code_lines(source)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            count = len(code.intersection(range(node.lineno, node.end_lineno + 1)))
            if count > limit:
                found.append((node.lineno, node.name, count))
    return sorted(found)


def _assert_none(test, problems, title):
    """Fails `test` with `title` and one line per problem when there are any."""
    if problems:
        test.fail(f"{title} ({len(problems)}):\n" + "\n".join(problems))


class ImportGraphTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.imports = package_imports()
        cls.edges = internal_edges(cls.imports)

    def test_no_import_cycles(self):
        problems = []
        for component in cycles(self.edges):
            inside = [
                f"    {path}:{line}: {source} -> {target}"
                for source in component
                for target, (path, line) in sorted(self.edges[source].items())
                if target in component
            ]
            problems.append("cycle: " + ", ".join(component) + "\n" + "\n".join(inside))
        _assert_none(self, problems, "Import cycles in saccader_tf")

    def test_rooms_import_only_lower_rooms(self):
        problems = []
        for source in sorted(self.edges):
            for target, (path, line) in sorted(self.edges[source].items()):
                problem = layering_problem(source, target)
                if problem:
                    problems.append(f"{path}:{line}: {source} -> {target}: {problem}")
        _assert_none(self, problems, "Imports against the room order")

    def test_never_imports_benchmarks(self):
        problems = [
            f"{path}:{line}: imports {name} (benchmarks/ is not installed with the package)"
            for found in self.imports.values()
            for path, line, name in found
            if name.split(".")[0] == "benchmarks"
        ]
        _assert_none(self, problems, "saccader_tf imports benchmarks")

    def test_the_graph_sees_what_python_imports(self):
        # Known edges of the real package, written by hand from its source.
        edges = self.edges
        self.assertIn("saccader_tf.cli.startup", edges["saccader_tf.launch"])
        self.assertIn("saccader_tf.models.bagnet", edges["saccader_tf.models"])
        # `from saccader_tf.x import y` with `y` a submodule is an import of `saccader_tf.x.y`.
        tree = ast.parse(
            "from saccader_tf.models import geometry, Saccader\n"
            "def f():\n    from . import b\n    from ..utils import validation\n"
        )
        known = {"saccader_tf.models", "saccader_tf.models.geometry", "saccader_tf.data.b"}
        known |= {"saccader_tf.utils.validation"}
        found = imported_names(tree, "saccader_tf.data.a", False, known)
        self.assertEqual(
            found,
            [
                (1, "saccader_tf.models.geometry"),
                (1, "saccader_tf.models"),
                (3, "saccader_tf.data.b"),
                (4, "saccader_tf.utils.validation"),
            ],
        )

    def test_rules_flag_what_they_forbid(self):
        flagged = layering_problem
        self.assertIsNone(flagged("saccader_tf.cli.launcher", "saccader_tf.run.settings"))
        self.assertIn("higher room", flagged("saccader_tf.layers.cbam", "saccader_tf.models"))
        self.assertIn("never trains", flagged("saccader_tf.evaluation.x", "saccader_tf.training.y"))
        self.assertIn("data source", flagged("saccader_tf.models.geometry", "saccader_tf.data.s"))
        self.assertIsNone(
            flagged("saccader_tf.models.saccader.cell", "saccader_tf.models.bagnet.bagnet")
        )
        self.assertIn(
            "SIBLING_IMPORTS",
            flagged("saccader_tf.models.bagnet.bagnet", "saccader_tf.models.saccader.cell"),
        )
        self.assertIn("not in the order", flagged("saccader_tf.extras.x", "saccader_tf.utils"))
        self.assertIsNone(flagged("saccader_tf", "saccader_tf.cli.launcher"))
        edges = {"a": {"b": 0}, "b": {"c": 0}, "c": {"a": 0}, "d": {"a": 0}}
        self.assertEqual(cycles(edges), [["a", "b", "c"]])
        self.assertEqual(cycles({"a": {"b": 0}, "b": {}}), [])


class SizeTest(unittest.TestCase):
    def test_modules_and_functions_are_small(self):
        problems = []
        for path in python_files(*SIZE_CHECKED):
            text = _read(path)
            lines = len(text.splitlines())
            if lines > MAX_MODULE_LINES:
                problems.append(f"{path}: {lines} lines (> {MAX_MODULE_LINES}): split it by idea")
            for line, name, count in long_functions(text):
                problems.append(
                    f"{path}:{line}: {name}() has {count} code lines "
                    f"(> {MAX_FUNCTION_CODE_LINES}): split it"
                )
        _assert_none(self, problems, "Too large")

    def test_counter_on_a_hand_written_snippet(self):
        snippet = textwrap.dedent(
            '''\
            """Module docstring."""


            def outer(a):
                """Docstring,
                on two lines."""
                # a comment

                b = (a,
                     a)  # code lines 9 and 10
                text = """not a docstring
                second line"""

                def inner():
                    """Inner docstring."""
                    return b

                return inner, text
            '''
        )
        self.assertEqual(code_lines(snippet), {4, 9, 10, 11, 12, 14, 16, 18})
        self.assertEqual(long_functions(snippet, limit=7), [(4, "outer", 8)])
        self.assertEqual(long_functions(snippet, limit=8), [])
        self.assertEqual(long_functions(snippet, limit=1), [(4, "outer", 8), (14, "inner", 2)])


class TextTest(unittest.TestCase):
    def test_no_design_sections_or_issue_numbers_in_the_package(self):
        problems = []
        for path in python_files(PACKAGE):
            for number, line in enumerate(_read(path).splitlines(), 1):
                for pattern, why in FORBIDDEN_TEXT:
                    if pattern.search(line):
                        problems.append(f"{path}:{number}: {why}: {line.strip()}")
        _assert_none(self, problems, "Citations that do not belong in the package")

    def test_patterns(self):
        (design, _), (issue, _) = FORBIDDEN_TEXT
        self.assertTrue(design.search("see DESIGN §3.6"))
        self.assertTrue(issue.search("(issue 12)") and issue.search("Issue #7"))
        self.assertFalse(issue.search("an issue with numbers") or issue.search("issues: 3"))


if __name__ == "__main__":
    unittest.main()
