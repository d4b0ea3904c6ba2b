"""The composition layer: one module per capability of the stack, each turning its sections of the stack config
into contract values and composing components from them.

Only this package and `__main__.py` read `stack_config` (tests/test_layers.py says so): below it, components take
contract values and plain Args; above it, `__main__.py` lists the capabilities in order and exports what matters.

- `cloud`: where the stack runs (the cluster target, its providers, and what only a cloud has: GCP's CI identity
  and node accounts); the only code that asks which cloud it is.
- `data`: how hard stores are to lose (`StoreDurability`) and the stores the delivered applications share.
- `images`: the registry of kiban's own images and their references resolved against it.
- `delivery`: blue/green releases (Argo Rollouts) and GitOps (Argo CD, its applications, Image Updater).
- `face_recognition`: the face-recognition system with its GPU rule.
"""
