"""Grasp datasets: generation (GIGA protocol), on-disk layout, processing, torch datasets (docs/data.md)."""
