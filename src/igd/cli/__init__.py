"""The ``igd`` command line: one module per verb (``igd.cli.bench``, ...), wired in :mod:`igd.cli.main`."""
