"""Reports of benchmark runs: markdown with figures, and the same numbers as JSON (``igd report``).

Importing this package is light: matplotlib is imported only when a figure is drawn.
"""

from igd.report.build import write_report
from igd.report.load import Run, load_run

__all__ = ["Run", "load_run", "write_report"]
