"""benchmarks/ (and tests/) are left out of the installed package: `setup.py`'s package list is
every package folder under `saccader_tf/` and nothing else."""

import ast
import os
import unittest

import setuptools

from tests.support.paths import REPO_ROOT


def setup_find_packages_arguments():
    """The keyword arguments of the `find_packages(...)` call in `setup.py` (literals only)."""
    with open(os.path.join(REPO_ROOT, "setup.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "find_packages"
    ]
    if len(calls) != 1 or calls[0].args:
        raise AssertionError("setup.py should call find_packages once, with keyword arguments")
    return {keyword.arg: ast.literal_eval(keyword.value) for keyword in calls[0].keywords}


def package_folders(top):
    """Dotted names of `top` and of every folder under it holding an `__init__.py`."""
    names = []
    for root, dirs, files in os.walk(os.path.join(REPO_ROOT, top)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if "__init__.py" in files:
            names.append(os.path.relpath(root, REPO_ROOT).replace(os.sep, "."))
    return sorted(names)


class PackageListTest(unittest.TestCase):
    def test_setup_installs_the_library_alone(self):
        packages = setuptools.find_packages(REPO_ROOT, **setup_find_packages_arguments())
        self.assertEqual(sorted(packages), package_folders("saccader_tf"))
        self.assertIn("saccader_tf.models.saccader.policies", packages)
        for left_out in ("benchmarks", "tests", "tests.benchmarks", "launch"):
            self.assertNotIn(left_out, packages)

    def test_benchmarks_is_a_package_of_the_checkout(self):
        # `python -m benchmarks` needs the folder to be a package, found from the repository root.
        self.assertEqual(package_folders("benchmarks"), ["benchmarks"])
        self.assertTrue(os.path.isfile(os.path.join(REPO_ROOT, "benchmarks", "__main__.py")))


if __name__ == "__main__":
    unittest.main()
