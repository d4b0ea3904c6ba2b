"""RetainedStorageClass: the cluster's provisioner with reclaimPolicy Retain."""

from __future__ import annotations

from components.kube.retained_storage_class import RetainedStorageClass, RetainedStorageClassArgs


def test_k3s_and_gke(declare, k3s_cpu_facts, gke_gpu_facts):
    k3s = declare(lambda opts: RetainedStorageClass("retained", RetainedStorageClassArgs(cluster=k3s_cpu_facts), opts))
    storage = k3s.object("StorageClass", "kiban-retain")
    assert storage["provisioner"] == "rancher.io/local-path"
    assert storage["reclaimPolicy"] == "Retain" and storage["volumeBindingMode"] == "WaitForFirstConsumer"
    assert "allowVolumeExpansion" not in storage

    gke = declare(lambda opts: RetainedStorageClass("retained", RetainedStorageClassArgs(cluster=gke_gpu_facts), opts))
    storage = gke.object("StorageClass", "kiban-retain")
    assert storage["provisioner"] == "pd.csi.storage.gke.io"
    assert storage["parameters"] == {"type": "pd-balanced"}
    assert storage["reclaimPolicy"] == "Retain" and storage["allowVolumeExpansion"] is True
