"""Camera model, depth noise models, TSDF fusion, and the one path from depth to observation (``observe``).

docs/perception.md describes them. Never imports pybullet.
"""
