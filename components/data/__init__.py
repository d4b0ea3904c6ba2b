"""Layer 2: data stores (PostgreSQL, Milvus with etcd and MinIO) with their credentials and backups."""
