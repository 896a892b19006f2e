"""The fault-injection tests' pytest hooks: every counts line printed during
the run is repeated at the end of the output, passed or failed, so the
meson log shows them together (faultlib.counts)."""

import faultlib


def pytest_terminal_summary(terminalreporter):
    if faultlib.COUNTS:
        terminalreporter.section("fault counts")
        for line in faultlib.COUNTS:
            terminalreporter.write_line(line)
