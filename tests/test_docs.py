"""The documentation holds together, checked from the text alone.

- Every relative link in README.md, BUILD.md and docs/ names an existing file, and its `#anchor`
  (if any) a heading of that file (GitHub's anchor rule).
- Every citation `docs/<page>.md, "<Heading>"` in the Python sources names an existing page and
  heading of it (also `docs/<page>.md, "<A>" and "<B>"`); a bare `docs/<page>.md` names a file.
- docs/cli.md names every launcher flag (every `RunSettings` field declared as a flag).
- README.md stays under 10,000 characters and installs as CI does (`.ci/run`).
- No dated session material in the docs: no `/tmp` paths, issue numbers or commit hashes.
"""

import os
import re
import unittest

from tests.support.paths import REPO_ROOT

MAX_README_CHARS = 10_000
SOURCE_FOLDERS = ("saccader_tf", "benchmarks", "launch", "tests")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_CITATION = re.compile(r"(docs/[\w/.-]+?\.md)((?:(?:,|\s+and)\s*(?:#\s*)?\"[^\"\n]+\")*)")
_QUOTED = re.compile(r"\"([^\"\n]+)\"")
_FORBIDDEN = (
    (re.compile(r"/tmp\b"), "a /tmp path"),
    (re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE), "an issue number"),
    # The 8 hex digits of a published weights file's name (`bagnet8-34f4ccd2.pth.tar`, its SHA-256
    # prefix; docs/pretrained.md) are no commit hash.
    (
        re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b(?!\.pth)"),
        "a commit hash",
    ),
)


def anchor(heading):
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to `-`."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def headings(path):
    """The headings of the Markdown file `path` (outside fenced code blocks), as written."""
    found, fenced = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and (match := _HEADING.match(line)):
                found.append(match.group(1).replace("`", ""))
    return found


def markdown_files():
    """Repository-relative paths of README.md, BUILD.md and every `.md` file under docs/."""
    paths = ["README.md", "BUILD.md"]
    for root, _, files in os.walk(os.path.join(REPO_ROOT, "docs")):
        paths += [
            os.path.relpath(os.path.join(root, f), REPO_ROOT) for f in files if f.endswith(".md")
        ]
    return sorted(paths)


def python_files():
    """Repository-relative paths of the `.py` files under `SOURCE_FOLDERS`."""
    paths = []
    for folder in SOURCE_FOLDERS:
        for root, dirs, files in os.walk(os.path.join(REPO_ROOT, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            paths += [os.path.join(root, f) for f in files if f.endswith(".py")]
    return sorted(os.path.relpath(path, REPO_ROOT) for path in paths)


def _read(path):
    with open(os.path.join(REPO_ROOT, path), encoding="utf-8") as f:
        return f.read()


def link_problems(path):
    """`"path: problem"` for every relative link of the Markdown file `path` that leads nowhere."""
    problems = []
    for target in _LINK.findall(_read(path)):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        file_part, _, fragment = target.partition("#")
        linked = (
            os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        )
        full = os.path.join(REPO_ROOT, linked)
        if not os.path.exists(full):
            problems.append(f"{path}: link to {target}: no file {linked}")
        elif fragment and fragment not in {anchor(h) for h in headings(full)}:
            problems.append(f"{path}: link to {target}: {linked} has no heading #{fragment}")
    return problems


def citation_problems(path):
    """`"path:line: problem"` for every `docs/...` citation of `path` that names nothing."""
    text, problems = _read(path), []
    for match in _CITATION.finditer(text):
        page = match.group(1)
        line = text.count("\n", 0, match.start()) + 1
        full = os.path.join(REPO_ROOT, page)
        if not os.path.isfile(full):
            problems.append(f"{path}:{line}: cites {page}, which does not exist")
            continue
        known = set(headings(full))
        problems += [
            f'{path}:{line}: cites {page}, "{name}", which is not a heading of it'
            for name in _QUOTED.findall(match.group(2))
            if name not in known
        ]
    return problems


class DocsTest(unittest.TestCase):
    def test_anchor_follows_github(self):
        self.assertEqual(anchor("Stage 4: Saccader-ClassNet"), "stage-4-saccader-classnet")
        self.assertEqual(anchor("The race (`--race`)"), "the-race---race")
        self.assertEqual(anchor("model_dir"), "model_dir")

    def test_citation_pattern_reads_every_heading_of_a_citation(self):
        text = 'See docs/design.md, "Training stages" and "Losses"; docs/cli.md.'
        found = [(m.group(1), _QUOTED.findall(m.group(2))) for m in _CITATION.finditer(text)]
        self.assertEqual(
            found, [("docs/design.md", ["Training stages", "Losses"]), ("docs/cli.md", [])]
        )

    def test_relative_links_resolve(self):
        problems = [p for path in markdown_files() for p in link_problems(path)]
        self.assertEqual(problems, [], "\n".join(problems))

    def test_source_citations_of_docs_resolve(self):
        problems = [p for path in python_files() for p in citation_problems(path)]
        self.assertEqual(problems, [], "\n".join(problems))

    def test_cli_page_names_every_flag(self):
        from saccader_tf.run.settings import flag_fields

        text = _read("docs/cli.md")
        names = [field.name for field in flag_fields()]
        self.assertGreater(len(names), 40)
        self.assertEqual([name for name in names if f"`--{name}`" not in text], [])

    def test_readme_is_short_and_installs_as_ci_does(self):
        readme = _read("README.md")
        self.assertLessEqual(len(readme), MAX_README_CHARS)
        install = [line for line in _read(".ci/run").splitlines() if "pip install" in line]
        self.assertEqual(len(install), 1)
        self.assertIn(install[0], readme.splitlines())
        self.assertIn("python -m saccader_tf.launch", readme.splitlines())

    def test_commit_hash_pattern_spares_only_weights_file_names(self):
        commit_hash = _FORBIDDEN[2][0]
        self.assertIsNone(commit_hash.search("python -m x --input=bagnet32-2ddd53ed.pth.tar"))
        self.assertIsNotNone(commit_hash.search("fixed in 2ddd53ed."))
        self.assertIsNotNone(commit_hash.search("see bagnet32-2ddd53ed.txt"))

    def test_docs_hold_no_session_material(self):
        problems = []
        for path in markdown_files():
            for number, line in enumerate(_read(path).splitlines(), 1):
                problems += [
                    f"{path}:{number}: {what}: {line.strip()}"
                    for pattern, what in _FORBIDDEN
                    if pattern.search(line)
                ]
        self.assertEqual(problems, [], "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
