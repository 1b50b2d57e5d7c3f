"""`make bench`: the performance targets of DESIGN.md, as ratios and counts, one line per figure.

- cold start: each function's import, as a ratio to a bare `import boto3`, both measured here in fresh
  interpreters with the Lambda runtime's environment, alternating, median of several rounds (target: at
  most 1.5);
- AWS calls: how many calls each employer operation makes, counted with a botocore event hook on every
  client (boto3's and PynamoDB's), under moto in this process;
- sweep: items read per expired invitation at 1,000 and 100,000 employees (scripts/bench_sweep.py).

    python scripts/bench.py [--rounds N] [--sweep-sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]

from local.offline import create_tables  # noqa: E402
from scripts.bench_sweep import TARGET_SIZE, prepare_environment, sweep_read_ratio  # noqa: E402

_IMPORT_PROBE = """
import importlib.util, sys, time
directory, module = sys.argv[1], sys.argv[2]
sys.path.insert(0, directory)
started = time.perf_counter()
if module == "boto3":
    import boto3
else:
    spec = importlib.util.spec_from_file_location("handler_module", f"{directory}/{module}.py")
    handler_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler_module)
print(time.perf_counter() - started)
"""


def _functions() -> list[tuple[str, Path, str]]:
    from local.template import Template

    template = Template.load(ROOT / "template.yaml")
    found = []
    for logical_id, resource in template.resources_of_type("AWS::Serverless::Function"):
        props = resource["Properties"]
        module = props["Handler"].rsplit(".", 1)[0]
        found.append((logical_id, ROOT / props["CodeUri"], module))
    return found


def _lambda_environment(directory: Path) -> dict[str, str]:
    """The environment the Lambda runtime gives a function, with tracing on as deployed. It matters:
    outside Lambda the X-Ray SDK that Tracer imports builds botocore clients for centralized sampling
    at import, inside Lambda (LAMBDA_TASK_ROOT set) it samples locally and builds none."""
    env = {name: value for name, value in os.environ.items() if name != "POWERTOOLS_TRACE_DISABLED"}
    return env | {
        "LAMBDA_TASK_ROOT": str(directory),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": directory.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "PYTHONPATH": f"{ROOT / 'layers' / 'common'}:{ROOT}",
    }


def _import_seconds(directory: Path, module: str) -> float:
    env = _lambda_environment(directory)
    output = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, str(directory), module],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return float(output.strip().splitlines()[-1])


def cold_start(rounds: int) -> None:
    functions = _functions()
    for _, directory, module in functions:  # a first import writes the .pyc files, as a deployment has them
        _import_seconds(directory, module)
    samples: dict[str, list[float]] = {name: [] for name in ["boto3", *(name for name, _, _ in functions)]}
    for _ in range(rounds):
        samples["boto3"].append(_import_seconds(ROOT, "boto3"))
        for name, directory, module in functions:
            samples[name].append(_import_seconds(directory, module))
    baseline = statistics.median(samples["boto3"])
    for name, _, _ in functions:
        ratio = statistics.median(samples[name]) / baseline
        verdict = "ok" if ratio <= 1.5 else "over the 1.5 target"
        print(f"cold start  {name}: import costs {ratio:.2f} x a bare import boto3 ({verdict}; {rounds} rounds)")


@contextmanager
def counting_aws_calls() -> Iterator[Counter[str]]:
    """Count every AWS API call of every botocore client created meanwhile (boto3's and PynamoDB's)."""
    import botocore.client

    calls: Counter[str] = Counter()
    original = botocore.client.ClientCreator.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        service = client.meta.service_model.service_name

        def count(model: Any, **_: Any) -> None:
            calls[f"{service}.{model.name}"] += 1

        client.meta.events.register("before-call.*.*", count)
        return client

    botocore.client.ClientCreator.create_client = create_client
    try:
        yield calls
    finally:
        botocore.client.ClientCreator.create_client = original


def aws_calls() -> None:
    import boto3
    from moto import mock_aws

    from tests.events import LambdaContext, api_event, employer_claims

    with mock_aws(), counting_aws_calls() as calls:
        create_tables(boto3.client("dynamodb", region_name=os.environ["AWS_REGION"]))
        boto3.client("ses", region_name=os.environ["AWS_REGION"]).verify_email_identity(
            EmailAddress=os.environ["MAIL_SENDER"]
        )
        sys.path.insert(0, str(ROOT / "functions" / "grant_access"))
        import app

        claims = employer_claims("acme")
        jan = {"name": "Jan de Vries", "email": "jan@example.nl", "dateOfBirth": "1990-05-17", "language": "nl"}
        employee = "/employers/{employerId}/employees/{employeeId}"
        ids = {"employerId": "acme", "employeeId": "1001"}

        def call(label: str, method: str, resource: str, params: dict[str, str], **kwargs: Any) -> None:
            calls.clear()
            with redirect_stdout(io.StringIO()):  # the functions' metrics (EMF lines)
                response = app.handler(api_event(method, resource, params, claims=claims, **kwargs), LambdaContext())
            detail = ", ".join(f"{n} {op}" for op, n in sorted(calls.items()))
            print(f"aws calls   {label}: {sum(calls.values())} ({detail}) -> {response['statusCode']}")

        call("PUT employer", "PUT", "/employers/{employerId}", {"employerId": "acme"}, body={"name": "Acme"})
        call("GET employer", "GET", "/employers/{employerId}", {"employerId": "acme"})
        call("PUT employee", "PUT", employee, ids, body=jan)
        call("GET employee", "GET", employee, ids)
        with redirect_stdout(io.StringIO()):
            for n in range(30):
                more = {"employerId": "acme", "employeeId": f"e{n:02}"}
                app.handler(api_event("PUT", employee, more, claims=claims, body=jan), LambdaContext())
        call(
            "GET employees (limit 20)",
            "GET",
            "/employers/{employerId}/employees",
            {"employerId": "acme"},
            query={"limit": "20"},
        )
        call(
            "GET employees?accessStatus=not_activated",
            "GET",
            "/employers/{employerId}/employees",
            {"employerId": "acme"},
            query={"limit": "20", "accessStatus": "not_activated"},
        )

        call("grant", "POST", employee + "/access", ids)
        call("resend", "POST", employee + "/invitation/resend", ids)
        call("revoke", "DELETE", employee + "/invitation", ids)
        retry = {"Idempotency-Key": "bench-1"}
        call("grant with Idempotency-Key", "POST", employee + "/access", ids, headers=retry)
        call("the same grant retried", "POST", employee + "/access", ids, headers=retry)


def sweep(sizes: list[int]) -> None:
    for size in sizes:
        items_read, expired, ratio = sweep_read_ratio(size)
        print(
            f"sweep       {size:,} employees: {items_read} items read for {expired} expired = {ratio:.2f} per expired"
        )


def main() -> int:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sweep-sizes", default=f"1000,{TARGET_SIZE}")
    args = parser.parse_args()
    prepare_environment()
    cold_start(args.rounds)
    aws_calls()
    sweep([int(size) for size in args.sweep_sizes.split(",") if size])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
