"""Creates, on a moto server that enforces IAM, one IAM user per function of
template.yaml holding exactly that function's policy statements, and prints every
user's keys as JSON: {"admin": [key, secret], "ApiFunction": [key, secret], ...}.

The server must have been started with INITIAL_NO_AUTH_ACTION_COUNT=3: the first three
calls (an admin user, its policy, its keys) go unsigned, and every later call is checked
against the caller's policy. The admin's keys then create the function users, and the
tests create their tables with them.

Actions are kept as written. Resources are widened to "*", because moto checks every
DynamoDB call against the resource "*", which no table ARN matches; the table and index
ARNs are checked by cfn-lint and by the request tests of the adapter instead.

With --actions, it starts no user and prints every function's allowed actions instead,
sorted: {"ApiFunction": ["dynamodb:DeleteItem", ...], ...}. The static policy check
(tests/policy) compares them with the operations each function's binary can call.

Usage: users.py ENDPOINT [TEMPLATE]
       users.py --actions [TEMPLATE]
"""

import json
import sys

import yaml

ACCOUNT_KEYS = {"aws_access_key_id": "unsigned", "aws_secret_access_key": "unsigned"}


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation's short tags (!Sub, !Ref, ...)."""


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


CfnLoader.add_multi_constructor("!", _tagged)


def function_policies(template_path):
    """Each function's IAM statements, by logical id."""
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)
    policies = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        statements = []
        for policy in resource.get("Properties", {}).get("Policies", []):
            if not isinstance(policy, dict) or "Statement" not in policy:
                raise SystemExit(f"{name}: only inline policy documents are supported")
            for statement in policy["Statement"]:
                actions = statement["Action"]
                statements.append(
                    {
                        "Sid": statement.get("Sid", "S"),
                        "Effect": statement["Effect"],
                        "Action": actions if isinstance(actions, list) else [actions],
                        "Resource": "*",
                    }
                )
        policies[name] = statements
    return policies


def create_user(iam, name, statements):
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName=f"{name}-policy",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return [key["AccessKeyId"], key["SecretAccessKey"]]


def function_actions(template_path):
    """Each function's allowed actions, sorted, by logical id (Allow statements only)."""
    return {
        name: sorted(
            {
                action
                for statement in statements
                if statement["Effect"] == "Allow"
                for action in statement["Action"]
            }
        )
        for name, statements in function_policies(template_path).items()
    }


def main():
    if sys.argv[1] == "--actions":
        template = sys.argv[2] if len(sys.argv) > 2 else "template.yaml"
        print(json.dumps(function_actions(template)))
        return
    import boto3

    endpoint = sys.argv[1]
    template = sys.argv[2] if len(sys.argv) > 2 else "template.yaml"
    unsigned = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **ACCOUNT_KEYS)
    admin = create_user(
        unsigned, "admin", [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    )
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=admin[0],
        aws_secret_access_key=admin[1],
    )
    keys = {"admin": admin}
    for name, statements in function_policies(template).items():
        keys[name] = create_user(iam, name, statements)
    print(json.dumps(keys))


if __name__ == "__main__":
    main()
