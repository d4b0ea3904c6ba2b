"""Blue/green release building blocks for Argo Rollouts: the preview check and the Rollout's strategy.

A stateless service released blue/green has two Services: the active one that users reach, and a preview one
that selects the new version while it is checked. Argo Rollouts adds a `rollouts-pod-template-hash` to both
Services' selectors at run time (a selector key Pulumi does not manage, so server-side apply leaves it alone).
"""

from __future__ import annotations

from typing import Any, Mapping

import pulumi
import pulumi_kubernetes as k8s


from components.contracts.delivery import BlueGreenDelivery
from components.contracts.exemptions import scanner_annotations
from components.kube.pod_spec import ContainerSpec, RunAs, pod_spec
from components.contracts.workloads import compute

ROLLOUTS_API = "argoproj.io/v1alpha1"
CHECK_METRIC = "preview-health"
CHECK_COMPONENT = "preview-check"
PREVIOUS_VERSIONS_KEPT = 1
"""Old ReplicaSets kept scaled up during the scale-down delay: a switch runs at most two versions (capacity counts
both colours' GPUs, and the config refuses a stack whose GPUs cannot hold them)."""
"""`app.kubernetes.io/component` of the check's pods, which the network policies select."""


def preview_check_labels(name: str, part_of: str) -> dict[str, str]:
    """Labels of the pods that check `name`'s preview (each measurement is one Job)."""
    return {"app.kubernetes.io/name": f"{name}-{CHECK_COMPONENT}", "app.kubernetes.io/part-of": part_of,
            "app.kubernetes.io/component": CHECK_COMPONENT}


def preview_check_template(
    name: str,
    *,
    namespace: str,
    part_of: str,
    url: str,
    delivery: BlueGreenDelivery,
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """The AnalysisTemplate `<name>-preview-check`: `delivery.check.count` HTTP GETs of `url`, each a hardened Job
    (busybox `wget`, which exits non-zero on a connection error or a non-2xx answer), `failureLimit` tolerated."""
    check = delivery.check
    job_labels = preview_check_labels(name, part_of)
    wget = ContainerSpec(
        name="wget",
        image=delivery.check_image,
        resources=compute("10m", "16Mi", "100m", "32Mi"),
        command=("wget", "-q", "-O", "/dev/null", "-T", str(check.timeout_seconds), url),
        writable_paths=(),
    )
    job = k8s.batch.v1.JobSpecArgs(
        backoff_limit=0,
        active_deadline_seconds=check.timeout_seconds + 60,
        ttl_seconds_after_finished=3600,
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels),
            spec=pod_spec(containers=[wget], run_as=RunAs(), restart_policy="Never"),
        ),
    )
    metric: dict[str, Any] = {
        "name": CHECK_METRIC,
        "count": check.count,
        "interval": f"{check.interval_seconds}s",
        "failureLimit": check.failure_limit,
        "provider": {"job": {"metadata": {"labels": job_labels}, "spec": job}},
    }
    return k8s.apiextensions.CustomResource(
        f"{name}-preview-check",
        api_version=ROLLOUTS_API,
        kind="AnalysisTemplate",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{name}-preview-check",
            namespace=namespace,
            labels=dict(labels),
            # The Jobs it creates run the check image: its scanner exemptions travel with the template.
            annotations=scanner_annotations([delivery.check_image], []),
        ),
        spec={"metrics": [metric]},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(delivery.crds))),
    )


def blue_green_strategy(
    *, active_service: pulumi.Input[str], preview_service: pulumi.Input[str], check_template: pulumi.Input[str],
    delivery: BlueGreenDelivery,
) -> dict[str, Any]:
    """`spec.strategy` of a blue/green Rollout: promotion as `delivery` says, the check before every promotion.

    At most one previous version stays up through the scale-down delay (`scaleDownDelayRevisionLimit: 1`, which
    Argo Rollouts has had since v0.5, #129): without it a second switch inside the delay keeps a third ReplicaSet,
    whose GPUs the cluster does not have (dev time-slices one GPU three ways for Milvus and two colours), so it
    stays Pending and the Rollout Degraded. Roll-back stays instant to the version just replaced."""
    return {
        "blueGreen": {
            "activeService": active_service,
            "previewService": preview_service,
            "autoPromotionEnabled": delivery.auto_promote,
            "scaleDownDelaySeconds": delivery.scale_down_delay_seconds,
            "scaleDownDelayRevisionLimit": PREVIOUS_VERSIONS_KEPT,
            "prePromotionAnalysis": {"templates": [{"templateName": check_template}]},
        }
    }
