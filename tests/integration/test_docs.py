#!/usr/bin/env python3
"""The README and the example configuration stay true to the binary.

Every key that `introeval --config-keys` prints must appear in README.md's
configuration table with its environment variable, and in
deploy/introeval.example.json; the example must load (--print-config).
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Docs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = subprocess.run([harness.binary(), "--config-keys"], check=True,
                             capture_output=True, text=True).stdout
        cls.keys = re.findall(r"^\| `(\w+)` \| `(\w+)`", out, re.M)
        with open(os.path.join(harness.repo_dir(), "README.md"),
                  encoding="utf-8") as f:
            cls.readme = f.read()
        cls.example = os.path.join(harness.repo_dir(), "deploy",
                                   "introeval.example.json")

    def test_binary_lists_keys(self):
        self.assertGreater(len(self.keys), 10)

    def test_every_key_is_in_the_readme(self):
        for key, env in self.keys:
            self.assertRegex(self.readme, r"\| `%s` \| `%s`" % (key, env),
                             "README.md's table lacks %s" % key)

    def test_example_has_every_key_and_loads(self):
        with open(self.example, encoding="utf-8") as f:
            example = json.load(f)
        self.assertEqual(sorted(example), sorted(k for k, _ in self.keys))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("INTROEVAL_") and k != "DATABASE_URL"}
        p = subprocess.run([harness.binary(), "--config", self.example,
                            "--print-config"], env=env, capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        shown = json.loads(p.stdout)
        self.assertEqual(shown["port"], example["port"])

    def test_readme_names_the_two_commands(self):
        self.assertIn("deploy/run", self.readme)
        self.assertIn("deploy/test", self.readme)
        with open(os.path.join(harness.repo_dir(), ".ci", "run")) as f:
            self.assertIn("deploy/test", f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
