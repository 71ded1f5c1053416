"""The whole rotation on loopback, for `make demo` and the end-to-end tests.

- Secrets Manager: moto's ThreadedMotoServer on a free port, refusing overwrites as AWS does,
  with every call recorded (and a PutSecretValue failure injectable);
- GeckoAuth and GeckoForm: the emulator behind tests/emulator/server.py on a free port;
- the function: built from template.yaml with `sam build` (or, where that cannot run, the same
  files laid out the same way), run by tests/support/invoke_handler.py in a separate
  interpreter that holds only boto3, as the Lambda runtime does: one process is one warm
  execution environment.

This process hosts both servers and plays Secrets Manager's side (tests/support/secrets_manager)
on moto's in-process backend; the function reaches both over real HTTP.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.server import ThreadedMotoServer

from tests.emulator.server import EmulatorServer
from tests.support import secrets_manager as aws
from tests.support.cfn_template import load_template

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".demo"  # gitignored: the build and the runtime interpreter, cached
INVOKER = Path(__file__).with_name("invoke_handler.py")
FUNCTION_SOURCES = ("rotation_fn", "geckoform_tokens", "template.yaml")
ANSWER_TIMEOUT = 120.0  # seconds: the handler's own timeouts end every invocation long before


# -- the build -----------------------------------------------------------------------------
def python313() -> str | None:
    """The Lambda runtime's Python (3.13): pyenv's, or one on PATH that answers."""
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = ""
    candidates = sorted(Path(root).glob("versions/3.13*/bin/python3.13")) if root else []
    on_path = shutil.which("python3.13")
    for candidate in [*map(str, candidates), *([on_path] if on_path else [])]:
        probe = subprocess.run([candidate, "--version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def rotation_function_id(template: Path = ROOT / "template.yaml") -> str:
    """The logical id of the function whose CodeUri is rotation_fn/."""
    resources = load_template(template)["Resources"]
    for logical_id, resource in resources.items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and str(
            props.get("CodeUri", "")
        ).rstrip("/") == ("rotation_fn"):
            return str(logical_id)
    raise LookupError("template.yaml has no AWS::Serverless::Function with CodeUri rotation_fn/")


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for name in FUNCTION_SOURCES:
        base = ROOT / name
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Build:
    path: Path  # the folder Lambda would unpack: app.py and its dependencies
    method: str  # how it was made
    seconds: float
    cached: bool


def build_function(python: str | None = None, work: Path = WORK) -> Build:
    """Build the rotation function, or reuse the build of the same sources."""
    function_id = rotation_function_id()
    target = work / f"build-{_sources_digest()}"
    done = target / "method.txt"
    if done.exists():
        return Build(target / function_id, done.read_text().strip(), 0.0, cached=True)
    for stale in work.glob("build-*"):  # builds of older sources
        shutil.rmtree(stale, ignore_errors=True)
    started = time.perf_counter()
    python = python or python313()
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    method = ""
    if python and sam:
        env = {
            **os.environ,
            "SAM_CLI_TELEMETRY": "0",
            "PATH": os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")]),
        }
        result = subprocess.run(
            [sam, "build", function_id, "--build-dir", str(target), "--cache-dir",
             str(work / "sam-cache"), "--template", str(ROOT / "template.yaml")],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode == 0:
            method = f"sam build {function_id}"
    if not method:
        _lay_out_like_sam(target / function_id, python or sys.executable)
        method = "copied like sam build (sam build unavailable)"
    done.write_text(method + "\n")
    return Build(target / function_id, method, time.perf_counter() - started, cached=False)


def _lay_out_like_sam(dest: Path, python: str) -> None:
    """What `sam build` makes of CodeUri rotation_fn/: its files and its requirements."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for source in (ROOT / "rotation_fn").iterdir():
        if source.suffix in (".py", ".txt"):
            shutil.copy2(source, dest / source.name)
    shutil.copytree(
        ROOT / "geckoform_tokens",
        dest / "geckoform_tokens",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
         str(dest), "-r", str(ROOT / "rotation_fn" / "requirements.txt")],
        check=True, capture_output=True,
    )  # fmt: skip


# -- the runtime interpreter ---------------------------------------------------------------
def runtime_python(python: str | None = None, work: Path = WORK) -> Path:
    """A virtualenv holding only boto3 (what the Lambda runtime provides), cached by version."""
    base = python or python313() or sys.executable
    version = boto3.__version__
    venv = work / f"runtime-{Path(base).name}-boto3-{version}"
    interpreter = venv / "bin" / "python"
    if (venv / "ready").exists():
        return interpreter
    shutil.rmtree(venv, ignore_errors=True)
    for command in (
        [base, "-m", "venv", str(venv)],
        [str(interpreter), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         f"boto3=={version}"],
    ):  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} failed:\n{result.stderr}")
    (venv / "ready").write_text(version + "\n")
    return interpreter


# -- Secrets Manager, recorded ---------------------------------------------------------------
@dataclass
class SecretsManagerLog:
    """Every Secrets Manager call moto's server answers, and failures to inject."""

    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, SecretId)
    fail_next: dict[str, str] = field(default_factory=dict)  # operation -> error code
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        return len(self.calls)

    def since(self, start: int, secret_id: str | None = None) -> list[str]:
        return [op for op, sid in self.calls[start:] if secret_id in (None, sid)]

    def fail_once(self, operation: str, code: str = "EncryptionFailure") -> None:
        """The next `operation` fails with `code`, which botocore does not retry."""
        with self._lock:
            self.fail_next[operation] = code


@contextmanager
def recorded_secrets_manager(log: SecretsManagerLog) -> Iterator[None]:
    original = SecretsManagerResponse.call_action

    def call_action(self: SecretsManagerResponse) -> Any:
        operation = self._get_action()
        with log._lock:
            log.calls.append((operation, str(self._get_param("SecretId") or "")))
            code = log.fail_next.pop(operation, None)
        if code is not None:
            body = json.dumps({"__type": code, "message": "Injected by the local stack."})
            return 400, {"Content-Type": "application/x-amz-json-1.1"}, body
        return original(self)

    SecretsManagerResponse.call_action = call_action  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SecretsManagerResponse.call_action = original  # type: ignore[method-assign]


# -- the function, in its own interpreter ----------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    ok: bool
    ms: float
    error: str = ""
    message: str = ""


class FunctionProcess:
    """One execution environment: the built handler in a separate, warm interpreter."""

    def __init__(self, python: Path, build: Path, env: dict[str, str], log: IO[str]) -> None:
        self._proc = subprocess.Popen(
            [str(python), str(INVOKER)],
            cwd=build,
            env={**env, "PYTHONPATH": str(build)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        ready = self._read()
        if not ready.ok:
            self.close()
            raise RuntimeError(
                f"The built function does not import ({ready.error}: {ready.message}); is a "
                "dependency missing from rotation_fn/requirements.txt?"
            )

    def _read(self) -> Outcome:
        assert self._proc.stdout is not None
        if not select.select([self._proc.stdout], [], [], ANSWER_TIMEOUT)[0]:
            self._proc.kill()
            raise RuntimeError(f"The function gave no answer in {ANSWER_TIMEOUT} s; killed it.")
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("The function's interpreter exited; see its log.")
        data = json.loads(line)
        return Outcome(
            bool(data["ok"]), float(data["ms"]), data.get("error", ""), data.get("message", "")
        )

    def invoke(self, event: dict[str, Any]) -> Outcome:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"event": event}) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


class LocalStack:
    """moto's server, the emulator's server, the built function and its runtime, on loopback."""

    def __init__(self, work: Path = WORK) -> None:
        self.work = work
        self.sm_log = SecretsManagerLog()
        self._exit = ExitStack()
        self._processes: list[FunctionProcess] = []
        self.build: Build | None = None
        self.python: Path | None = None

    def start(self) -> LocalStack:
        self.work.mkdir(exist_ok=True)
        access_log = logging.getLogger("werkzeug")  # moto's server logs every request
        self._exit.callback(access_log.setLevel, access_log.level)
        access_log.setLevel(logging.ERROR)
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        self._exit.callback(self.moto.stop)
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self._exit.enter_context(aws.aws_strict_put())
        self._exit.enter_context(recorded_secrets_manager(self.sm_log))
        self.gecko = self._exit.enter_context(EmulatorServer())
        self.emulator = self.gecko.emulator
        self.log_file = self._exit.enter_context(
            tempfile.NamedTemporaryFile("w+", prefix="function-", suffix=".log", dir=self.work)  # noqa: SIM115 - closed by the ExitStack
        )
        return self

    def prepare_function(self) -> None:
        """Build the function and its runtime interpreter (cached across runs)."""
        python = python313()
        self.build = build_function(python, self.work)
        self.python = runtime_python(python, self.work)

    def client(self) -> Any:
        """A Secrets Manager client of this process, talking to moto's server."""
        return boto3.client(
            "secretsmanager",
            region_name=aws.REGION,
            endpoint_url=self.moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def function_environment(self) -> dict[str, str]:
        """What Lambda would set, plus where the fakes are; nothing else of this process's env."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": aws.REGION,
            "AWS_REGION": aws.REGION,
            "AWS_LAMBDA_FUNCTION_NAME": "geckoform-rotation",
            "GECKO_CONNECT_TIMEOUT": "1",
            "GECKO_READ_TIMEOUT": "5",
            "POWERTOOLS_SERVICE_NAME": "geckoform-token-rotation",
            "POWERTOOLS_METRICS_NAMESPACE": "GeckoFormTokens",
            **self.gecko.environment(),
        }

    def spawn(self, **env: str) -> FunctionProcess:
        """A new execution environment (cold start); `env` overrides the function's settings."""
        if self.build is None or self.python is None:
            self.prepare_function()
        assert self.build is not None
        assert self.python is not None
        process = FunctionProcess(
            self.python, self.build.path, {**self.function_environment(), **env}, self.log_file
        )
        self._processes.append(process)
        return process

    def function_output(self) -> str:
        """Everything the function's interpreters wrote besides their answers (logs, metrics)."""
        self.log_file.flush()
        return Path(self.log_file.name).read_text()

    def seed(self, name: str, tokens: dict[str, str]) -> str:
        arn = str(self.client().create_secret(Name=name, SecretString=json.dumps(tokens))["ARN"])
        aws.enable_rotation(arn)
        return arn

    def stop(self) -> None:
        for process in self._processes:
            process.close()
        self._exit.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
