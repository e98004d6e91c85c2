"""Code style: `ruff check` (settings in ruff.toml: line length 100, import order) finds nothing
and `ruff format` would change nothing.

Run `python -m ruff check` to see the same list, `python -m ruff check --fix` to sort imports,
`python -m ruff format` to format.
"""

import subprocess
import sys
import unittest

from tests.support.paths import REPO_ROOT

# Everything that is Python in the repository; ruff.toml excludes none of it.
CHECKED_PATHS = ("saccader_tf", "benchmarks", "tests", "launch", "setup.py")


def _ruff(*args, stdin=None, command="check"):
    """Runs `python -m ruff COMMAND ARGS` from the repository root (so it reads ruff.toml)."""
    try:
        import ruff  # noqa: F401  (only to give a clear message when it is missing)
    except ImportError as error:
        raise AssertionError(
            'ruff is not installed: run `pip install -e ".[test]"` (it is a test extra)'
        ) from error
    return subprocess.run(
        [sys.executable, "-m", "ruff", command, "--no-cache", *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


class CodeStyleTest(unittest.TestCase):
    def test_repository_is_clean(self):
        result = _ruff("--output-format=concise", *CHECKED_PATHS)
        self.assertEqual(
            result.returncode,
            0,
            "ruff check reports style problems (fix them; `python -m ruff check --fix` sorts "
            "imports):\n" + result.stdout + result.stderr,
        )

    def test_repository_is_formatted(self):
        result = _ruff("--check", *CHECKED_PATHS, command="format")
        self.assertEqual(
            result.returncode,
            0,
            "ruff format would change these files (run `python -m ruff format`):\n"
            + result.stdout
            + result.stderr,
        )

    def test_settings_flag_long_lines_and_import_order(self):
        # The two house rules, broken and kept, in a file checked as if it were in the package.
        def probe(imports, text_length):
            line = 'TEXT = "' + "x" * (text_length - len('TEXT = ""')) + '"'
            self.assertEqual(len(line), text_length)
            return imports + "\nVALUE = (flags, numpy)\n" + line + "\n"

        unsorted = "from saccader_tf import flags\nimport numpy\n"  # saccader_tf before numpy
        result = _ruff(
            "--output-format=concise",
            "--stdin-filename",
            "saccader_tf/style_probe.py",
            "-",
            stdin=probe(unsorted, 101),
        )
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("I001", result.stdout)
        self.assertIn("E501 Line too long (101 > 100)", result.stdout)
        # Third party, a blank line, then saccader_tf; 100 characters is allowed.
        ordered = "import numpy\n\nfrom saccader_tf import flags\n"
        result = _ruff(
            "--output-format=concise",
            "--stdin-filename",
            "saccader_tf/style_probe.py",
            "-",
            stdin=probe(ordered, 100),
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
