"""Planners: the contract (``base``), shared parts (``common``, ``postprocess``) and one folder per method.

Importing this package imports no planner: :func:`igd.planners.base.registry` finds them on its first
call (:mod:`igd.planners.discovery`: every folder here with a ``planner.py``, and the ``igd.planners``
entry points of other packages). docs/planners.md says how to add one.
"""
