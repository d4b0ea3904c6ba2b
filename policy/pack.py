"""The rules of `rules.py` as CrossGuard policies, with their enforcement levels and their config schema."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import RESOURCE_RULES, STACK_RULES, Resource, ResourceRule, Settings, StackRule

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {"type": "string", "enum": ["dev", "prod"]},
        "allowMutableTags": {"type": "boolean"},
        "gpuWorkloads": {"type": "array", "items": {"type": "string"}},
        "publicLoadBalancers": {"type": "array", "items": {"type": "string"}},
        "podSecurityExceptions": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)


def _resource_policy(name: str, rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        settings = Settings.from_config(args.get_config())
        for problem in rule(Resource(args.resource_type, args.name, args.props, args.opts.protect), settings):
            report_violation(problem, None)

    return ResourceValidationPolicy(
        name=name,
        description=(rule.__doc__ or name).strip().splitlines()[0],
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=CONFIG_SCHEMA,
    )


def _stack_policy(name: str, rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = Settings.from_config(args.get_config())
        resources = [Resource(r.resource_type, r.name, r.props, r.opts.protect) for r in args.resources]
        for problem in rule(resources, settings):
            report_violation(problem, None)

    return StackValidationPolicy(
        name=name,
        description=(rule.__doc__ or name).strip().splitlines()[0],
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=CONFIG_SCHEMA,
    )


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Every rule as a mandatory policy (a stack's config may lower a level: `enforcementLevel` per policy)."""
    return [
        *(_resource_policy(name, rule) for name, rule in RESOURCE_RULES.items()),
        *(_stack_policy(name, rule) for name, rule in STACK_RULES.items()),
    ]
