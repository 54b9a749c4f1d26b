"""Camera model, depth noise models, TSDF fusion and grid encoding (SPEC.md §6–8). Never imports pybullet."""
