"""Checks, on the stage that SAM's own transform makes of template.yaml, that the routes
an anonymous flood costs most on have a throttle of their own, below the API's default:
GET /cache (each call reads every node) and the token routes (DELETE /cache and
DELETE /primes/{n}), so that a flood of them cannot take the throttle from
GET /primes/{n}. Prints each route's limits; exits 1 naming a route without its own.

Usage: route_throttles.py [TEMPLATE]
"""

import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROUTES = ["GET /cache", "DELETE /cache", "DELETE /primes/{n}"]


class NoManagedPolicies:
    """The transform asks for AWS's managed policies only when a template names one."""

    def get_policies(self):
        return {}


def stage(template_path):
    """The HttpApi's stage, as SAM deploys it (code locations faked: they are not read)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(template_path) as f:
        template = yaml_parse(f.read())
    for resource in template["Resources"].values():
        if "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = "s3://bucket/key"
    deployed = transform(template, {}, NoManagedPolicies())
    stages = [
        r["Properties"]
        for r in deployed["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Stage"
    ]
    assert len(stages) == 1, f"one HttpApi stage, found {len(stages)}"
    return stages[0], template["Parameters"]


def value(limit, parameters):
    """A limit's number: written out, or a parameter's default."""
    if isinstance(limit, dict) and "Ref" in limit:
        return parameters[limit["Ref"]]["Default"]
    return limit


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    settings, parameters = stage(path)
    default = value(settings["DefaultRouteSettings"]["ThrottlingRateLimit"], parameters)
    per_route = settings.get("RouteSettings", {})
    failed = []
    for route in ROUTES:
        rate = value(per_route.get(route, {}).get("ThrottlingRateLimit"), parameters)
        print(f"{route}: {rate}/s (the API's default: {default}/s)")
        if rate is None or rate >= default:
            failed.append(route)
    if failed:
        print(f"no throttle of their own, below the default: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
