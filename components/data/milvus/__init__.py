"""Milvus standalone with its etcd and MinIO, hardened and backed up.

One component, `MilvusStandalone` (`standalone.py`), composes the parts, each in a module of its own: `etcd.py`,
`minio.py`, `server.py` (Milvus itself and its `user.yaml`), `backup.py`. A part returns what it exposes (its
Service's host, its pods, its Secret), and the composer wires those into the parts that need them.
"""

from components.data.milvus.standalone import MilvusImages, MilvusStandalone, MilvusStandaloneArgs

__all__ = ["MilvusImages", "MilvusStandalone", "MilvusStandaloneArgs"]
