"""template.yaml and samconfig.toml keep the deploy's promises (issue 3), read from the files.

`sam validate --lint` and `cfn-lint` check the syntax (`make validate`, run by CI); these tests
check the intent: what runs, what it may touch, when it rotates, and who hears of a failure.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geckoform_tokens.config import Settings
from geckoform_tokens.exceptions import InvalidTokenSet
from geckoform_tokens.gecko import STORE_RESERVE_SECONDS
from geckoform_tokens.tokens import TokenSet
from tests.support.cfn_template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
SAMCONFIG_PATH = ROOT / "samconfig.toml"

NO_VALUE = {"Ref": "AWS::NoValue"}
THE_SECRET = {"Fn::If": ["CreateSecret", {"Ref": "Secret"}, {"Ref": "ExistingSecretArn"}]}
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackName",
    "AWS::URLSuffix",
}
ROTATION_ACTIONS = {
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
}
BY_PREFIX = {
    "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
    ":secret:${AdditionalSecretNamePrefix}*"
}
MAX_SCHEDULE_HOURS = 12


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG_PATH.read_text())


def props(resources: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = resources[name]["Properties"]
    return found


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def branches(value: Any) -> list[Any]:
    """Every value `value` can take: both sides of each Fn::If, lists flattened, NoValue dropped."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        return branches(when_true) + branches(when_false)
    if isinstance(value, list):
        return [v for item in value for v in branches(item)]
    return [] if value == NO_VALUE else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in branches(document["Statement"]) if isinstance(s, dict)]


def policy_documents(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM and resource policy document in the template, named by its resource."""
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if "PolicyDocument" in properties:
            yield name, properties["PolicyDocument"]
        for inline in properties.get("Policies", []):
            if isinstance(inline, dict) and "PolicyDocument" in inline:
                yield name, inline["PolicyDocument"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def references(value: Any, into_if: bool = True) -> Iterator[str]:
    """Names that `value` points to with Ref, GetAtt or ${...} in Sub (not under Fn::If)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Fn::If" and not into_if:
                continue
            if key == "Ref":
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0]
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                yield from (m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
            else:
                yield from references(inner, into_if)
    elif isinstance(value, list):
        for item in value:
            yield from references(item, into_if)


def parameter_accepts(template: dict[str, Any], name: str, value: str) -> bool:
    parameter = template["Parameters"][name]
    return re.fullmatch(parameter["AllowedPattern"], value) is not None


def env(resources: dict[str, Any], function: str) -> dict[str, Any]:
    variables: dict[str, Any] = props(resources, function)["Environment"]["Variables"]
    return variables


# ------------------------------------------------------------------ the rotation function


def test_rotation_function_is_python313_on_arm64(resources: dict[str, Any]) -> None:
    function = props(resources, "RotationFunction")
    assert resources["RotationFunction"]["Type"] == "AWS::Serverless::Function"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["CodeUri"] == "rotation_fn/"
    assert function["Handler"] == "app.lambda_handler"
    assert "def lambda_handler(" in (ROOT / "rotation_fn" / "app.py").read_text()


def test_timeout_covers_every_refresh_attempt_and_storing(resources: dict[str, Any]) -> None:
    """Worst case: each attempt waits out connect + read, then the longest allowed retry wait."""
    settings = Settings()
    worst_case = (
        settings.refresh_attempts * (settings.connect_timeout + settings.read_timeout)
        + (settings.refresh_attempts - 1) * settings.max_retry_after
        + STORE_RESERVE_SECONDS
    )
    timeout = props(resources, "RotationFunction")["Timeout"]
    assert timeout >= 30
    assert timeout >= worst_case
    assert timeout <= 900


def test_memory_is_chosen_with_a_reason() -> None:
    lines = TEMPLATE_PATH.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("MemorySize:"))
    assert lines[at - 1].strip().startswith("#"), "explain the memory size in a comment above it"
    assert 128 <= int(lines[at].split(":")[1]) <= 1024


def test_powertools_settings_and_no_event_logging(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    variables = env(resources, "RotationFunction")
    assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "ServiceName"}
    assert template["Parameters"]["ServiceName"]["Default"] == "geckoform-token-rotation"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "GeckoFormTokens"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert variables["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"


def test_gecko_hosts_are_left_to_their_real_defaults(resources: dict[str, Any]) -> None:
    assert not {"GECKO_AUTH_URL", "GECKO_API_URL_TEMPLATE"} & set(
        env(resources, "RotationFunction")
    )


# ------------------------------------------------------------------ the secret


def test_the_created_secret_holds_no_tokens(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    secret = resources["Secret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Condition"] == "CreateSecret"
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["Properties"]["Name"] == {"Ref": "SecretName"}
    assert template["Parameters"]["SecretName"]["Default"] == "geckoform/api-tokens"
    placeholder = secret["Properties"]["SecretString"]
    assert not {"AccessToken", "IdToken", "RefreshToken"} & set(json.loads(placeholder))
    # What the rotation's testSecret warns about and createSecret refuses, loudly.
    with pytest.raises(InvalidTokenSet):
        TokenSet.from_json(placeholder)


def test_an_existing_secret_replaces_the_created_one(template: dict[str, Any]) -> None:
    assert template["Conditions"]["CreateSecret"] == {
        "Fn::Equals": [{"Ref": "ExistingSecretArn"}, ""]
    }
    assert template["Parameters"]["ExistingSecretArn"]["Default"] == ""


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:geckoform/api-tokens-AbCdEf", True),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:geckoform/tokens", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:*", False),
        ("geckoform/api-tokens", False),
    ],
)
def test_an_existing_secret_is_named_by_full_arn(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    assert parameter_accepts(template, "ExistingSecretArn", value) is accepted


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ("RotationSchedule", ("SecretId",)),
        ("ExampleConsumerFunction", ("Environment", "Variables", "GECKOFORM_SECRET_ID")),
    ],
)
def test_one_expression_names_the_secret_everywhere(
    resources: dict[str, Any], resource: str, path: tuple[str, ...]
) -> None:
    value: Any = props(resources, resource)
    for key in path:
        value = value[key]
    assert value == THE_SECRET


def test_customer_managed_key_is_optional(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    assert template["Parameters"]["KmsKeyArn"]["Default"] == ""
    assert props(resources, "Secret")["KmsKeyId"] == {
        "Fn::If": ["UseCmk", {"Ref": "KmsKeyArn"}, NO_VALUE]
    }


# ------------------------------------------------------------------ the schedule


def test_rotation_schedule_never_rotates_on_deploy(resources: dict[str, Any]) -> None:
    schedule = resources["RotationSchedule"]
    assert schedule["Type"] == "AWS::SecretsManager::RotationSchedule"
    assert schedule["Properties"]["RotateImmediatelyOnUpdate"] is False
    assert schedule["Properties"]["RotationLambdaARN"] == {
        "Fn::GetAtt": ["RotationFunction", "Arn"]
    }


def test_rotation_schedule_waits_for_the_permission_and_the_policy(
    resources: dict[str, Any],
) -> None:
    depends_on = set(as_list(resources["RotationSchedule"]["DependsOn"]))
    kinds = {resources[name]["Type"] for name in depends_on}
    assert kinds == {"AWS::Lambda::Permission", "AWS::IAM::Policy"}
    policy = next(n for n in depends_on if resources[n]["Type"] == "AWS::IAM::Policy")
    assert {"Ref": "RotationFunctionRole"} in props(resources, policy)["Roles"]


def test_default_schedule_is_every_4_to_12_hours(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    rules = props(resources, "RotationSchedule")["RotationRules"]
    assert rules["ScheduleExpression"] == {"Ref": "RotationScheduleExpression"}
    default = template["Parameters"]["RotationScheduleExpression"]["Default"]
    match = re.fullmatch(r"rate\((\d+) hours\)", default)
    assert match is not None
    assert 4 <= int(match[1]) <= MAX_SCHEDULE_HOURS


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("rate(4 hours)", True),
        ("rate(12 hours)", True),
        ("cron(0 */6 * * ? *)", True),
        ("rate(3 hours)", False),
        ("rate(13 hours)", False),
        ("rate(1 day)", False),
        ("rate(30 days)", False),
    ],
)
def test_schedule_parameter_keeps_rotations_within_an_access_token_life(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    assert parameter_accepts(template, "RotationScheduleExpression", value) is accepted


def test_only_secrets_manager_of_this_account_may_invoke(resources: dict[str, Any]) -> None:
    permission = props(resources, "RotationFunctionInvokePermission")
    assert resources["RotationFunctionInvokePermission"]["Type"] == "AWS::Lambda::Permission"
    assert permission["Principal"] == "secretsmanager.amazonaws.com"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["RotationFunction", "Arn"]}


# ------------------------------------------------------------------ IAM


def rotation_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return statements(props(resources, "RotationFunctionPolicy")["PolicyDocument"])


def test_rotation_role_has_only_its_own_policy(resources: dict[str, Any]) -> None:
    function = props(resources, "RotationFunction")
    assert function["Role"] == {"Fn::GetAtt": ["RotationFunctionRole", "Arn"]}
    assert "Policies" not in function  # SAM adds nothing to an explicit role
    role = props(resources, "RotationFunctionRole")
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    attached = [
        name
        for name, r in of_type(resources, "AWS::IAM::Policy").items()
        if {"Ref": "RotationFunctionRole"} in r["Properties"]["Roles"]
    ]
    assert attached == ["RotationFunctionPolicy"]


def test_rotation_may_touch_only_its_secrets(resources: dict[str, Any]) -> None:
    secret_statements = [
        s
        for s in rotation_statements(resources)
        if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))
    ]
    assert len(secret_statements) == 1
    statement = secret_statements[0]
    assert set(statement["Action"]) == ROTATION_ACTIONS
    assert statement["Resource"] == [
        THE_SECRET,
        {"Fn::If": ["HasNamePrefix", BY_PREFIX, NO_VALUE]},
    ]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("", True), ("geckoform/", True), ("*", False), ("geckoform/*", False), ("gecko?", False)],
)
def test_name_prefix_cannot_widen_to_a_wildcard(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    assert parameter_accepts(template, "AdditionalSecretNamePrefix", value) is accepted


def test_kms_only_with_a_cmk_and_only_for_the_secrets(resources: dict[str, Any]) -> None:
    document = props(resources, "RotationFunctionPolicy")["PolicyDocument"]
    conditional = [s for s in document["Statement"] if "Fn::If" in s]
    assert {c["Fn::If"][0] for c in conditional} == {"UseCmk"}
    kms = {s["Sid"]: s for s in (c["Fn::If"][1] for c in conditional)}
    via_secrets_manager = {
        "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
    }
    data_keys, describe = kms["UseTheKeyForTheSecrets"], kms["DescribeTheKey"]
    assert set(data_keys["Action"]) | {describe["Action"]} == {
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
    }
    assert data_keys["Resource"] == describe["Resource"] == {"Ref": "KmsKeyArn"}
    # Decrypt and GenerateDataKey carry the secret's ARN as encryption context: only ours.
    assert data_keys["Condition"]["StringLike"] == {
        "kms:EncryptionContext:SecretARN": [
            THE_SECRET,
            {"Fn::If": ["HasNamePrefix", BY_PREFIX, NO_VALUE]},
        ]
    }
    assert data_keys["Condition"]["StringEquals"] == via_secrets_manager
    # DescribeKey has no encryption context: only through Secrets Manager.
    assert describe["Condition"] == {"StringEquals": via_secrets_manager}


def test_rotation_writes_only_its_own_log_group(resources: dict[str, Any]) -> None:
    logs = [s for s in rotation_statements(resources) if s["Action"][0].startswith("logs:")]
    assert logs == [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": ["RotationFunctionLogGroup", "Arn"]},
        }
    ]
    assert props(resources, "RotationFunctionLogGroup")["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${RotationFunction}"
    }


def test_no_policy_grants_anything_on_star(resources: dict[str, Any]) -> None:
    for name, document in policy_documents(resources):
        for statement in statements(document):
            assert "*" not in branches(statement.get("Resource", [])), name
            assert not any(a.endswith("*") for a in as_list(statement["Action"])), name


def test_no_sam_policy_templates_or_generated_roles(resources: dict[str, Any]) -> None:
    for name, function in of_type(resources, "AWS::Serverless::Function").items():
        assert "Policies" not in function["Properties"], name
        assert "Role" in function["Properties"], name
    assert "AWSSecretsManagerRotationPolicy" not in json.dumps(resources)


# ------------------------------------------------------------------ alerting


def test_alarms_and_events_go_to_the_topic(resources: dict[str, Any]) -> None:
    topic = {"Ref": "AlarmTopic"}
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items():
        assert topic in alarm["Properties"]["AlarmActions"], name
    assert props(resources, "RotationFailedRule")["Targets"][0]["Arn"] == topic


def test_email_subscription_is_optional(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert template["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }


def test_errors_alarm_watches_the_rotation_function(resources: dict[str, Any]) -> None:
    alarm = props(resources, "RotationErrorsAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "RotationFunction"}}]
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_days_left_alarm_reads_the_metric_the_function_emits(resources: dict[str, Any]) -> None:
    alarm = props(resources, "RefreshTokenDaysLeftAlarm")
    variables = env(resources, "RotationFunction")
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["MetricName"] == "RefreshTokenDaysLeft"
    assert 'count("RefreshTokenDaysLeft"' in (ROOT / "rotation_fn" / "rotation.py").read_text()
    assert alarm["Dimensions"] == [
        {"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]},
        {"Name": "Step", "Value": "createSecret"},
    ]


def test_days_left_alarm_fires_in_time_and_when_rotations_stop(resources: dict[str, Any]) -> None:
    alarm = props(resources, "RefreshTokenDaysLeftAlarm")
    assert alarm["Statistic"] == "Minimum"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 7
    # No value for longer than any allowed schedule means no tokens were issued: alarm.
    assert alarm["TreatMissingData"] == "breaching"
    window = alarm["Period"] * alarm["EvaluationPeriods"]
    assert MAX_SCHEDULE_HOURS * 3600 < window <= 7 * 86400


def test_event_rule_matches_rotation_failures_of_the_secrets(resources: dict[str, Any]) -> None:
    pattern = props(resources, "RotationFailedRule")["EventPattern"]
    assert pattern["source"] == ["aws.secretsmanager"]
    assert pattern["detail-type"] == ["AWS Service Event via CloudTrail"]
    assert set(pattern["detail"]["eventName"]) == {
        "RotationFailed",
        "RotationAbandoned",
        "TestRotationFailed",
    }
    secret_ids = pattern["detail"]["additionalEventData"]["SecretId"]
    assert secret_ids[0] == THE_SECRET
    prefix = secret_ids[1]["Fn::If"][1]["prefix"]["Fn::Sub"]
    assert prefix.endswith(":secret:${AdditionalSecretNamePrefix}")


def test_topic_accepts_the_rule_and_the_alarms(resources: dict[str, Any]) -> None:
    policy = props(resources, "AlarmTopicPolicy")
    assert policy["Topics"] == [{"Ref": "AlarmTopic"}]
    by_service = {s["Principal"]["Service"]: s for s in statements(policy["PolicyDocument"])}
    assert by_service["events.amazonaws.com"]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["RotationFailedRule", "Arn"]}}
    }
    assert "cloudwatch.amazonaws.com" in by_service


# ------------------------------------------------------------------ outputs and consumers


@pytest.mark.parametrize(
    ("output", "value"),
    [
        ("SecretArn", THE_SECRET),
        ("RotationFunctionArn", {"Fn::GetAtt": ["RotationFunction", "Arn"]}),
        ("SecretReadPolicyArn", {"Ref": "SecretReadPolicy"}),
        ("GeckoFormTokensLayerArn", {"Ref": "GeckoFormTokensLayer"}),
    ],
)
def test_outputs(template: dict[str, Any], output: str, value: dict[str, Any]) -> None:
    assert template["Outputs"][output]["Value"] == value


def test_read_policy_reads_the_secret_and_nothing_else(resources: dict[str, Any]) -> None:
    assert resources["SecretReadPolicy"]["Type"] == "AWS::IAM::ManagedPolicy"
    document = props(resources, "SecretReadPolicy")["PolicyDocument"]
    read, decrypt = statements(document)
    assert (read["Action"], read["Resource"]) == ("secretsmanager:GetSecretValue", THE_SECRET)
    assert document["Statement"][1]["Fn::If"][0] == "UseCmk"
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == {"Ref": "KmsKeyArn"}
    assert decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == THE_SECRET


def test_layer_builds_the_library_for_python313_arm64(resources: dict[str, Any]) -> None:
    layer = resources["GeckoFormTokensLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layer/"
    assert "python3.13" in layer["Properties"]["CompatibleRuntimes"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    link = ROOT / "layer" / "geckoform_tokens"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "geckoform_tokens").resolve()


def pins(path: Path) -> dict[str, str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return dict(line.split("==", 1) for line in lines if line and not line.startswith("#"))


def test_layer_pins_match_the_rotation_function() -> None:
    layer = pins(ROOT / "layer" / "requirements.txt")
    assert layer == {"requests": "2.34.2", "PyJWT": "2.15.1"}
    rotation = pins(ROOT / "rotation_fn" / "requirements.txt")
    assert {name: rotation[name] for name in layer} == layer


def test_example_consumer_is_deployed_only_on_request(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    assert template["Parameters"]["DeployExampleConsumer"]["Default"] == "false"
    assert template["Conditions"]["DeployConsumer"] == {
        "Fn::Equals": [{"Ref": "DeployExampleConsumer"}, "true"]
    }
    consumer = resources["ExampleConsumerFunction"]
    assert consumer["Condition"] == "DeployConsumer"
    function = consumer["Properties"]
    assert (function["CodeUri"], function["Handler"]) == ("consumer_fn/", "app.lambda_handler")
    assert (function["Runtime"], function["Architectures"]) == ("python3.13", ["arm64"])
    assert function["Layers"] == [{"Ref": "GeckoFormTokensLayer"}]
    role = props(resources, "ExampleConsumerRole")
    assert role["ManagedPolicyArns"] == [{"Ref": "SecretReadPolicy"}]


def test_conditional_resources_are_named_only_under_their_condition(
    template: dict[str, Any],
) -> None:
    """A resource that names a conditional one must share its condition, or the deploy fails."""
    conditional = {
        name: r["Condition"] for name, r in template["Resources"].items() if "Condition" in r
    }
    sections = [*template["Resources"].items(), *template["Outputs"].items()]
    for name, body in sections:
        # A value under Fn::If is guarded by that Fn::If's own condition.
        for target in set(references(body, into_if=False)) & set(conditional):
            assert body.get("Condition") == conditional[target], f"{name} -> {target}"


def test_every_reference_exists(template: dict[str, Any]) -> None:
    known = set(template["Parameters"]) | set(template["Resources"]) | PSEUDO_PARAMETERS
    for section in ("Resources", "Outputs"):
        missing = set(references(template[section])) - known
        assert not missing


# ------------------------------------------------------------------ samconfig.toml


def test_samconfig_has_default_build_and_deploy_parameters(
    template: dict[str, Any], samconfig: dict[str, Any]
) -> None:
    assert samconfig["version"] == 0.1
    default = samconfig["default"]
    assert default["global"]["parameters"]["stack_name"]
    assert "build" in default
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    overrides = dict(re.findall(r'(\w+)="([^"]*)"', deploy["parameter_overrides"]))
    assert overrides
    for name, value in overrides.items():
        parameter = template["Parameters"][name]
        if "AllowedPattern" in parameter:
            assert re.fullmatch(parameter["AllowedPattern"], value), name
        if "AllowedValues" in parameter:
            assert value in parameter["AllowedValues"], name
