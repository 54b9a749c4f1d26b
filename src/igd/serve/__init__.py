"""``igd serve``: one planner kept loaded behind HTTP, for robots (docs/serving.md).

- :mod:`igd.serve.codec`: depth images as JSON (base64 of the raw pixels, ROS 2's ``32FC1`` / ``16UC1``);
  numpy only.
- :mod:`igd.serve.app`: :class:`~igd.serve.app.GraspService` (the detector behind one lock) and the
  FastAPI application around it; needs ``pip install 'igd[serve]'``.
- :mod:`igd.serve.client`: :class:`~igd.serve.client.GraspClient`, whose ``detect`` reads like
  :meth:`igd.api.GraspDetector.detect`; needs httpx (in the same extra).

Importing this package imports none of FastAPI, uvicorn or httpx.
"""

#: The pip extra that brings the server and the client.
EXTRA = "serve"
