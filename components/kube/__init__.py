"""Layer 1: hardened Kubernetes building blocks for any cluster; they know nothing of kiban's applications."""
