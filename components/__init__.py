"""kiban's typed ComponentResources, one per file, in layers.

A module imports only from its own folder or from a lower layer, never from a sibling folder on its own layer
(`tests/test_layers.py` enforces it); siblings meet through the contract values `__main__.py` passes between them.

0. `contracts/`: plain values exchanged between layers (the cluster contract, data-store endpoints, labels, image
   references, the registry's facts).
1. `kube/`: hardened Kubernetes building blocks that know nothing of kiban's applications.
2. `clusters/` (cluster targets, GPU enablement), `data/` (data stores and their backups), `platform/` (registry,
   CI identity, Argo CD, Image Updater, progressive delivery).
3. `apps/`: what kiban deploys for its users (the face-recognition system).
"""
