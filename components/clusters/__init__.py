"""Layer 2: cluster targets (each yields an explicit Kubernetes provider and the cluster contract) and GPU
enablement."""
