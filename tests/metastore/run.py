#!/usr/bin/env python3
"""Runs metastore integration test files with pytest from the clients'
virtualenv (made by scripts/bootstrap); meson test calls it once per file.

  run.py FILE... [pytest args]"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
python = os.environ.get("KAVKA_PYTHON") or os.path.join(repo, "tests", "clients", ".venv", "bin", "python")
if not os.access(python, os.X_OK):
    sys.exit("metastore tests need %s: run scripts/bootstrap first" % python)
os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
os.chdir(here)
os.execv(python, [python, "-m", "pytest", "-v", "--durations=5"] + sys.argv[1:])
