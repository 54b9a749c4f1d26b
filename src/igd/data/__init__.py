"""Grasp datasets: generation (GIGA protocol), on-disk layout, processing, torch datasets (SPEC.md §9)."""
