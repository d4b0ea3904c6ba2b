"""The face-recognition system: the FastAPI backend, the frontend, their entry point, and the stores they use."""
