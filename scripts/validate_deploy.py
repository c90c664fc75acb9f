#!/usr/bin/env python3
"""Offline checks of ClickClack's deployment files (run by scripts/validate-deploy).

Needs no Docker engine and no cluster. It checks:

* Dockerfile: multi-stage, `cargo build --release --locked --bins`, a
  debian:bookworm-slim runtime with libpq5 and ca-certificates, a non-root
  USER, and that every deployable Cargo binary (from `cargo metadata`) and
  helper script lands in the runtime image.
* docker-compose.yml: parses and, interpolated with .env.example (plus
  dummy secrets), is a valid Compose Specification file (the compose_spec
  parser); every reference (depends_on, volumes, bind
  mounts, env files, ${VARS}) resolves, images are this repo's build or
  pinned public images, every command and health check runs something the
  runtime image has, ports and peer addresses agree, no secret is inline,
  and the container named `clickclack` serves the API with the CLI, the
  identity address and the operator key (`docker exec clickclack clickclack
  admin ...`).
* k8s/: renders base and every overlay with `kubectl kustomize`, validates
  each document against the Kubernetes JSON schemas (kubernetes-validate,
  strict), then checks the things schemas cannot: probes, security
  contexts, resources, references between objects, HPA/PDB targets, and the
  NetworkPolicy reachability matrix.

Every problem is printed; the exit status is 1 if there was any.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import compose_spec
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent

# Kubernetes versions the manifests must be valid for (strict schemas).
KUBE_VERSIONS = ["1.30.0", "1.37.0"]

# Cargo packages whose binaries are not deployed (load generators).
NOT_DEPLOYED_PACKAGES = {"clickclack-bench"}

# Programs of the base image that a container may also run.
BASE_IMAGE_TOOLS = {"bash", "sh", "sleep", "timeout", "env", "true"}

# The runtime contract of each service binary (README "Running services
# separately"): the env var it listens on, the env var peers reach it by,
# and the grpc.health.v1 service name constant in proto/src/lib.rs.
SERVICES = {
    "identity": ("clickclack-identity", "CLICKCLACK_IDENTITY_LISTEN", "CLICKCLACK_IDENTITY_ADDR", "IDENTITY"),
    "messaging": ("clickclack-messaging", "CLICKCLACK_MESSAGING_LISTEN", "CLICKCLACK_MESSAGING_ADDR", "MESSAGING"),
    "realtime": ("clickclack-realtime", "CLICKCLACK_REALTIME_LISTEN", "CLICKCLACK_REALTIME_ADDR", "REALTIME"),
    "webhooks": ("clickclack-webhooks", "CLICKCLACK_WEBHOOKS_LISTEN", "CLICKCLACK_WEBHOOKS_ADDR", "WEBHOOKS"),
}
GATEWAY = ("clickclack-gateway", "CLICKCLACK_HTTP_ADDR")
METRICS_ENV = "CLICKCLACK_METRICS_ADDR"
METRICS_PORT = 9090
SECRET_NAME = "clickclack-secrets"
SECRET_ENV_WORDS = ("PASSWORD", "SECRET", "TOKEN", "INTERNAL_KEY")

COMPOSE_TOP_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets", "include", "version"}
COMPOSE_SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose",
    "volumes", "depends_on", "healthcheck", "restart", "profiles", "networks", "init",
    "user", "working_dir", "labels", "logging", "deploy", "ulimits", "stop_grace_period",
    "stop_signal", "read_only", "tmpfs", "cap_drop", "cap_add", "security_opt", "container_name",
    "hostname", "extra_hosts", "pull_policy", "shm_size", "mem_limit", "cpus", "configs",
    "secrets", "platform", "tty", "stdin_open", "develop", "attach", "scale",
}
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


# --------------------------------------------------------------------------
# bookkeeping


@dataclass
class Report:
    verbose: bool = False
    errors: list[str] = field(default_factory=list)
    passed: int = 0
    section: str = ""
    section_passed: int = 0
    section_failed: int = 0

    def start(self, section: str | None) -> None:
        if self.section:
            print(f"  -- {self.section}: {self.section_passed} checks passed, {self.section_failed} failed")
        self.section, self.section_passed, self.section_failed = section or "", 0, 0
        if section:
            print(f"\n== {section}")

    def check(self, condition: bool, what: str, problem: str | None = None) -> bool:
        """Counts one check; records `problem` (or `what`) when it fails."""
        if condition:
            self.passed += 1
            self.section_passed += 1
            if self.verbose:
                print(f"  pass {what}")
        else:
            self.section_failed += 1
            message = f"[{self.section}] {problem or what}"
            self.errors.append(message)
            print(f"  FAIL {problem or what}")
        return condition

    def note(self, message: str) -> None:
        print(f"  ok   {message}")


def port_of(addr: str) -> int | None:
    """Port of `host:port`, `[v6]:port` or `scheme://host:port`."""
    match = re.search(r":(\d+)/?$", addr.strip())
    return int(match.group(1)) if match else None


def host_of(url: str) -> str | None:
    match = re.match(r"^[a-z]+://([^:/]+)(:\d+)?/?$", url.strip())
    return match.group(1) if match else None


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return False
    tag = name.split(":", 1)[1]
    return bool(tag) and tag != "latest" and "$" not in tag


# --------------------------------------------------------------------------
# facts from the Rust workspace


def cargo_bins(report: Report) -> dict[str, str]:
    """bin name -> package name, for every workspace binary."""
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    except subprocess.CalledProcessError as error:
        report.check(False, "cargo metadata", f"`cargo metadata` failed: {error.stderr.strip()}")
        return {}
    except OSError as error:
        report.check(False, "cargo metadata", f"cannot run `cargo metadata`: {error}")
        return {}
    bins = {}
    for package in json.loads(out)["packages"]:
        for target in package["targets"]:
            if "bin" in target["kind"]:
                bins[target["name"]] = package["name"]
    return bins


def known_env_names() -> set[str]:
    """Env vars the binaries (clap `env = ...`, std::env::var) and helper scripts read."""
    names = {"RUST_LOG"}  # read by tracing's EnvFilter::try_from_default_env
    patterns = [
        re.compile(r'\benv\s*=\s*"([A-Z][A-Z0-9_]*)"'),
        re.compile(r'env::var(?:_os)?\(\s*"([A-Z][A-Z0-9_]*)"'),
    ]
    for folder in ["services", "gateway", "cli", "crates"]:
        for path in (ROOT / folder).rglob("*.rs"):
            if "target" in path.parts:
                continue
            text = path.read_text(errors="replace")
            for pattern in patterns:
                names.update(pattern.findall(text))
    for script in (ROOT / "deploy" / "bin").glob("*"):
        names.update(re.findall(r"\$\{?(CLICKCLACK_[A-Z0-9_]+)", script.read_text()))
    return names


def proto_service_names() -> dict[str, str]:
    text = (ROOT / "proto" / "src" / "lib.rs").read_text()
    return dict(re.findall(r'pub const (\w+)_SERVICE_NAME: &str = "([^"]+)"', text))


def is_clickclack_env(name: str) -> bool:
    return name.startswith(("CLICKCLACK_", "OTEL_", "RUST_")) or name == "DATABASE_URL"


# --------------------------------------------------------------------------
# Dockerfile


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Image:
    binaries: set[str]
    env: dict[str, str]
    user: str | None


def parse_dockerfile(text: str) -> list[Stage]:
    logical, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            logical.append(current.strip())
        current = ""
    if current.strip():
        logical.append(current.strip())

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            global_args[name] = default
            continue
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: global_args.get(m.group(1) or m.group(2), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
            continue
        if stages:
            stages[-1].instructions.append((keyword, rest))
    return stages


def copy_parts(rest: str) -> tuple[dict[str, str], list[str], str]:
    words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    flags = {}
    while words and words[0].startswith("--"):
        flag = words.pop(0)[2:]
        key, _, value = flag.partition("=")
        flags[key] = value
    return flags, words[:-1], words[-1]


def dockerignored(path: str, patterns: list[str]) -> bool:
    import fnmatch

    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").lstrip("/")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern + "/*") or path.split("/")[0] == pattern:
            ignored = not negate
    return ignored


def check_dockerfile(report: Report, bins: dict[str, str]) -> Image:
    report.start("Dockerfile")
    image = Image(binaries=set(), env={}, user=None)
    path = ROOT / "Dockerfile"
    if not report.check(path.is_file(), "Dockerfile exists"):
        return image
    stages = parse_dockerfile(path.read_text())
    report.check(len(stages) >= 2, "multi-stage build", f"expected a build and a runtime stage, found {len(stages)} stage(s)")
    if not stages:
        return image
    for stage in stages:
        report.check(image_is_pinned(stage.base), f"base image {stage.base} is pinned",
                     f"base image {stage.base!r} has no version tag (or is :latest)")
    builders = {s.name: s for s in stages[:-1] if s.name}
    runtime = stages[-1]
    report.check(runtime.base == "debian:bookworm-slim", "runtime stage is debian:bookworm-slim",
                 f"runtime stage is {runtime.base!r}, expected debian:bookworm-slim")

    build_runs = " ".join(rest for stage in stages[:-1] for kw, rest in stage.instructions if kw == "RUN")
    report.check(re.search(r"cargo build\s+--release\s+--locked\s+--bins\b", build_runs) is not None,
                 "builder runs `cargo build --release --locked --bins`")
    built = set(re.findall(r"target/release/([A-Za-z0-9_.-]+)", build_runs))
    for name in sorted(built):
        report.check(name in bins, f"builder copies out {name}", f"builder copies target/release/{name}, which no Cargo [[bin]] produces")

    runtime_runs = " ".join(rest for kw, rest in runtime.instructions if kw == "RUN")
    for package in ["libpq5", "ca-certificates"]:
        report.check(re.search(rf"apt-get install[^&;]*\b{re.escape(package)}\b", runtime_runs) is not None,
                     f"runtime installs {package}", f"runtime stage does not apt-get install {package}")

    ignore_file = ROOT / ".dockerignore"
    ignore = []
    if report.check(ignore_file.is_file(), ".dockerignore exists"):
        ignore = [l.strip() for l in ignore_file.read_text().splitlines() if l.strip() and not l.startswith("#")]
        for needed in ["target", ".git", ".env"]:
            report.check(dockerignored(needed, ignore), f".dockerignore excludes {needed}")

    for keyword, rest in runtime.instructions:
        if keyword == "COPY":
            flags, sources, dest = copy_parts(rest)
            for source in sources:
                name = os.path.basename(source.rstrip("/"))
                if "from" in flags:
                    if flags["from"] in builders:
                        # Copied from the builder's output: must be one of the built binaries.
                        report.check(name in built, f"runtime gets {name} from the builder",
                                     f"runtime copies {source} from {flags['from']}, which the builder never produced")
                else:
                    local = ROOT / source
                    report.check(local.exists(), f"COPY source {source} exists", f"COPY source {source} is missing")
                    report.check(not dockerignored(source, ignore), f"COPY source {source} is in the build context",
                                 f"COPY source {source} is excluded by .dockerignore")
                    if local.is_file():
                        report.check(os.access(local, os.X_OK) or "chmod" in flags, f"{source} is executable")
                if dest.rstrip("/") in ("/usr/local/bin", "/usr/bin", "/bin"):
                    image.binaries.add(name)
        elif keyword == "ENV":
            words = shlex.split(rest)
            if words and "=" not in words[0]:
                image.env[words[0]] = " ".join(words[1:])
            else:
                for word in words:
                    key, _, value = word.partition("=")
                    image.env[key] = value
        elif keyword == "USER":
            image.user = rest.split(":")[0]
    report.check(image.user not in (None, "", "0", "root"), "runtime runs as a non-root USER",
                 f"runtime USER is {image.user!r}: set a non-root numeric user")
    report.check(image.user is None or image.user.isdigit(), "runtime USER is numeric (runAsNonRoot can verify it)")

    deployable = {b for b, package in bins.items() if package not in NOT_DEPLOYED_PACKAGES}
    for binary in sorted(deployable):
        report.check(binary in image.binaries, f"runtime image has {binary}",
                     f"Cargo binary {binary} ({bins[binary]}) is not copied into the runtime image")
    for helper in ["clickclack-migrate", "clickclack-healthcheck"]:
        report.check(helper in image.binaries, f"runtime image has {helper}")
    report.note(f"runtime binaries: {', '.join(sorted(image.binaries))}")
    return image


# --------------------------------------------------------------------------
# docker-compose.yml


def compose_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolations(text: str) -> list[tuple[str, str]]:
    """(name, operator) of each ${NAME...} / $NAME, `$$` escapes skipped."""
    found = []
    for match in re.finditer(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))", text):
        if match.group(1) == "$":
            continue
        name = match.group(2) or match.group(4)
        found.append((name, match.group(3) or ""))
    return found


INTERPOLATION = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(node, env: dict[str, str]):
    """Compose's variable substitution over the string values of a parsed file."""

    def substitute(match: re.Match) -> str:
        if match.group(1) == "$":
            return "$"
        name = match.group(2) or match.group(5)
        operator, argument = match.group(3) or "", match.group(4) or ""
        value = env.get(name)
        present = value is not None and (value != "" or ":" not in operator)
        if operator in (":-", "-"):
            return value if present else argument
        if operator in (":?", "?"):
            if not present:
                raise ValueError(f"${{{name}}} is required: {argument}")
            return value
        if operator in (":+", "+"):
            return argument if present else ""
        return value or ""

    if isinstance(node, str):
        return INTERPOLATION.sub(substitute, node)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def resolved(value: str) -> str:
    """Compose value with ${X:-default} / ${X-default} replaced by the default."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)


def env_example_keys(path: Path) -> tuple[dict[str, str], set[str]]:
    """(KEY -> value) of active lines, and the KEYs of commented `# KEY=` lines."""
    active, commented = {}, set()
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            if match.group(1):
                commented.add(match.group(2))
            else:
                active[match.group(2)] = match.group(3).strip()
    return active, commented


def check_compose(report: Report, image: Image, known_env: set[str]) -> None:
    report.start("docker-compose.yml")
    path = ROOT / "docker-compose.yml"
    if not report.check(path.is_file(), "docker-compose.yml exists"):
        return
    text = path.read_text()
    try:
        compose = yaml.safe_load(text)
    except yaml.YAMLError as error:
        report.check(False, "parses", f"does not parse: {error}")
        return
    report.check(isinstance(compose, dict), "parses as a mapping")
    example_env, _ = env_example_keys(ROOT / ".env.example") if (ROOT / ".env.example").is_file() else ({}, set())
    # What `docker compose` would see after `cp .env.example .env` and filling
    # in the secrets (dummy values here).
    filled = {key: value or f"dummy-{key.lower()}-0123456789abcdef0123456789" for key, value in example_env.items()}
    try:
        effective = interpolate({k: v for k, v in compose.items() if not str(k).startswith("x-")}, filled)
        parsed = compose_spec.PyCompose.from_json(json.dumps(effective))
        parsed.validate()
        report.check(True, "valid Compose Specification (compose_spec), interpolated with .env.example")
    except ValueError as error:
        report.check(False, "compose spec", f"not a valid Compose file (compose_spec): {error}")
    for name, operator in interpolations(text):
        if any(word in name for word in SECRET_ENV_WORDS):
            report.check(operator == ":?", f"${{{name}}} is required (compose refuses to start without it)",
                         f"${{{name}}} must be written ${{{name}:?message}} so compose refuses to start without .env")
    for key in compose:
        report.check(key in COMPOSE_TOP_KEYS or key.startswith("x-"), f"top-level key {key}", f"unknown top-level key {key!r}")
    services: dict = compose.get("services") or {}
    volumes = set((compose.get("volumes") or {}).keys())
    for required in ["postgres", "migrate", "identity", "messaging", "realtime", "webhooks", "gateway", "otel-collector", "jaeger"]:
        report.check(required in services, f"service {required} defined")

    # .env.example and interpolation.
    example = ROOT / ".env.example"
    active, commented = ({}, set())
    if report.check(example.is_file(), ".env.example exists"):
        active, commented = env_example_keys(example)
    for name, operator in interpolations(text):
        report.check(name in active or name in commented, f"${{{name}}} is documented in .env.example",
                     f"${{{name}}} is used in docker-compose.yml but not listed in .env.example")
        if operator in (":?", "?"):
            report.check(name in active, f"required ${{{name}}} is an uncommented key in .env.example",
                         f"${{{name}}} is required but commented out in .env.example")
    for key, value in active.items():
        if any(word in key for word in SECRET_ENV_WORDS):
            report.check(value == "", f".env.example leaves {key} empty",
                         f".env.example must not carry a value for the secret {key}")
        report.check(not re.fullmatch(r"[A-Za-z0-9+/_=-]{24,}", value), f".env.example {key} is no real-looking secret",
                     f".env.example {key}={value[:6]}... looks like a real secret")
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
    report.check(ignored, ".env is git-ignored", ".env is not in .gitignore")
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", ".env"], cwd=ROOT, capture_output=True).returncode == 0
    report.check(not tracked, ".env is not committed", ".env is tracked by git: remove it and rotate its secrets")

    listen_ports: dict[str, int] = {}
    project_services = set()
    for name, service in services.items():
        for key in service:
            report.check(key in COMPOSE_SERVICE_KEYS, f"{name}: key {key}", f"{name}: unknown service key {key!r}")
        build = service.get("build")
        image_name = service.get("image", "")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            report.check((ROOT / context).resolve() == ROOT, f"{name}: builds this repository",
                         f"{name}: build context {context!r} is not the repository root")
            report.check((ROOT / context / dockerfile).is_file(), f"{name}: {dockerfile} exists")
            project_services.add(name)
        else:
            report.check(bool(image_name) and image_is_pinned(resolved(image_name)), f"{name}: image {image_name} is pinned",
                         f"{name}: image {image_name!r} needs a version tag (not :latest)")

        env = compose_env(service)
        if name in project_services:
            effective = dict(image.env)
            effective.update({k: resolved(v) for k, v in env.items()})
            for key in env:
                if is_clickclack_env(key):
                    report.check(key in known_env, f"{name}: {key} is read by the binaries",
                                 f"{name}: {key} is not an env var any ClickClack binary reads")
            command = service.get("command")
            words = command if isinstance(command, list) else shlex.split(command or "")
            program = words[0] if words else "clickclack-gateway"
            report.check(program in image.binaries or program in BASE_IMAGE_TOOLS,
                         f"{name}: runs {program}", f"{name}: command {program!r} is not in the runtime image")
            for component, (binary, listen_env, _, _) in SERVICES.items():
                if program == binary:
                    listen_ports[name] = port_of(effective.get(listen_env, "")) or -1
            if program == GATEWAY[0]:
                listen_ports[name] = port_of(effective.get(GATEWAY[1], "")) or -1
                published = [str(p) for p in service.get("ports") or []]
                report.check(any(p.rstrip("/tcp").endswith(f":{listen_ports[name]}") for p in published),
                             f"{name}: publishes its HTTP port {listen_ports[name]}",
                             f"{name}: does not publish container port {listen_ports[name]}")
                report.check(effective.get(GATEWAY[1], "").startswith("0.0.0.0:"), f"{name}: listens on all interfaces")
            for key, value in env.items():
                if any(word in key for word in SECRET_ENV_WORDS):
                    report.check("${" in value, f"{name}: {key} comes from .env", f"{name}: {key} has an inline value")
            if "DATABASE_URL" in env:
                report.check(re.search(r"://[^:@/]+:\$\{[A-Z_]+[^}]*\}@", env["DATABASE_URL"]) is not None,
                             f"{name}: DATABASE_URL password comes from .env",
                             f"{name}: DATABASE_URL must take its password from an ${{...}} variable")
            healthcheck = service.get("healthcheck")
            if healthcheck and "test" in healthcheck:
                test = healthcheck["test"]
                if isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"):
                    words = test[1:] if test[0] == "CMD" else shlex.split(" ".join(test[1:]))
                    report.check(bool(words) and (words[0] in image.binaries or words[0] in BASE_IMAGE_TOOLS),
                                 f"{name}: health check runs {words[0] if words else '?'}",
                                 f"{name}: health check runs {words[:1]}, which is not in the runtime image")
                    if words and words[0] == "clickclack-healthcheck" and name in listen_ports:
                        report.check(len(words) >= 3 and words[2] == str(listen_ports[name]),
                                     f"{name}: health check probes its listen port {listen_ports[name]}",
                                     f"{name}: health check probes {words[2:3]}, but it listens on {listen_ports[name]}")
                else:
                    report.check(False, f"{name}: health check form", f"{name}: health check test must be [CMD, ...] or [CMD-SHELL, ...]")
        else:
            for key, value in env.items():
                if any(word in key for word in SECRET_ENV_WORDS):
                    report.check("${" in value, f"{name}: {key} comes from .env", f"{name}: {key} has an inline value")

        for env_file in [service["env_file"]] if isinstance(service.get("env_file"), str) else service.get("env_file") or []:
            file_path = env_file if isinstance(env_file, str) else env_file.get("path")
            report.check((ROOT / file_path).exists() or (ROOT / f"{file_path}.example").exists(),
                         f"{name}: env_file {file_path} has an example", f"{name}: env_file {file_path} (nor {file_path}.example) exists")

        for volume in service.get("volumes") or []:
            source = (volume.split(":")[0] if isinstance(volume, str) else volume.get("source", ""))
            if source.startswith((".", "/")):
                report.check((ROOT / source).exists(), f"{name}: bind mount {source} exists", f"{name}: bind mount source {source} is missing")
            elif source:
                report.check(source in volumes, f"{name}: volume {source} declared", f"{name}: volume {source!r} is not declared under volumes:")

        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {d: {"condition": "service_started"} for d in depends}
        for target, spec in depends.items():
            if not report.check(target in services, f"{name} -> {target} defined", f"{name}: depends_on unknown service {target!r}"):
                continue
            condition = (spec or {}).get("condition", "service_started")
            report.check(condition in DEPENDS_CONDITIONS, f"{name} -> {target}: condition {condition}")
            if condition == "service_healthy":
                report.check("healthcheck" in services[target], f"{name} -> {target}: {target} has a health check",
                             f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
            if condition == "service_completed_successfully":
                report.check(str(services[target].get("restart", "no")) == "no", f"{name} -> {target}: {target} is one-shot",
                             f"{name} waits for {target} to complete, but {target} restarts")
            if not service.get("profiles"):
                report.check(not services[target].get("profiles"), f"{name} -> {target}: not behind a profile",
                             f"{name} always runs but depends on {target}, which only runs with a profile")

    for name in ["identity", "messaging", "realtime", "webhooks", "gateway"]:
        if name in services:
            report.check("healthcheck" in services[name], f"{name} has a health check")
    if "migrate" in services:
        command = services["migrate"].get("command") or []
        report.check("clickclack-migrate" in (command if isinstance(command, list) else shlex.split(command)),
                     "migrate runs clickclack-migrate")
    for name in ["otel-collector", "jaeger"]:
        if name in services:
            report.check("observability" in (services[name].get("profiles") or []), f"{name} is in the observability profile")

    # Peer addresses name a defined service on the port it listens on.
    for name in project_services:
        env = {k: resolved(v) for k, v in compose_env(services[name]).items()}
        for component, (_, _, addr_env, _) in SERVICES.items():
            if addr_env in env:
                host, port = host_of(env[addr_env]), port_of(env[addr_env])
                report.check(host in listen_ports and listen_ports[host] == port,
                             f"{name}: {addr_env} -> {host}:{port}",
                             f"{name}: {addr_env}={env[addr_env]} is not a compose service listening on that port")
        otel = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if otel:
            report.check(host_of(otel) in services and port_of(otel) == 4317, f"{name}: OTLP goes to {host_of(otel)}:4317",
                         f"{name}: OTEL_EXPORTER_OTLP_ENDPOINT={otel} is not the collector's OTLP/gRPC port")

    # The install guide runs `docker exec clickclack clickclack admin ...`
    # with no flags: the container named clickclack serves the API, carries
    # the CLI, and its environment names identity and the operator key.
    named = [name for name, service in services.items() if service.get("container_name") == "clickclack"]
    if report.check(len(named) == 1, "one container is named clickclack (docker exec clickclack clickclack admin ...)",
                    "no service has container_name: clickclack, so the guide's `docker exec clickclack ...` fails"):
        name = named[0]
        service = services[name]
        command = service.get("command")
        words = command if isinstance(command, list) else shlex.split(command or "")
        report.check((words[0] if words else GATEWAY[0]) == GATEWAY[0], f"container clickclack ({name}) serves the API",
                     f"container clickclack ({name}) does not run {GATEWAY[0]}")
        report.check(name in project_services and "clickclack" in image.binaries,
                     "container clickclack has the clickclack CLI on PATH",
                     f"container clickclack ({name}) does not run the image with the clickclack CLI")
        env = {k: resolved(v) for k, v in compose_env(service).items()}
        identity_addr = env.get(SERVICES["identity"][2], "")
        identity_host = host_of(identity_addr)
        identity_program = ((services.get(identity_host) or {}).get("command") or [None])[0] if identity_host else None
        report.check(identity_program == SERVICES["identity"][0],
                     f"container clickclack: the CLI reaches identity at {identity_addr}",
                     f"container clickclack: {SERVICES['identity'][2]}={identity_addr!r} does not name the identity service")
        operator_key = env.get("CLICKCLACK_OPERATOR_KEY")
        identity_key = compose_env(services.get(identity_host) or {}).get("CLICKCLACK_OPERATOR_KEY")
        report.check(bool(operator_key) and operator_key == identity_key,
                     "container clickclack: the CLI signs with identity's CLICKCLACK_OPERATOR_KEY",
                     "container clickclack: CLICKCLACK_OPERATOR_KEY is missing or differs from identity's")

    collector = ROOT / "deploy" / "otel-collector.yaml"
    if report.check(collector.is_file(), "deploy/otel-collector.yaml exists"):
        config = yaml.safe_load(collector.read_text())
        grpc = (((config.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}).get("grpc") or {}
        report.check(port_of(grpc.get("endpoint", "")) == 4317, "collector receives OTLP/gRPC on 4317")
        for pipeline, spec in ((config.get("service") or {}).get("pipelines") or {}).items():
            for kind in ["receivers", "processors", "exporters"]:
                for component in spec.get(kind) or []:
                    report.check(component in (config.get(kind) or {}), f"collector {pipeline}: {kind[:-1]} {component} defined")
            for exporter in spec.get("exporters") or []:
                endpoint = ((config.get("exporters") or {}).get(exporter) or {}).get("endpoint", "")
                host = endpoint.split(":")[0]
                if host:
                    report.check(host in services, f"collector exports to compose service {host}")
    report.note(f"{len(services)} services, {len(volumes)} volumes")


# --------------------------------------------------------------------------
# Kubernetes


def kustomize(kubectl: str, folder: Path, report: Report) -> list[dict]:
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True)
    if not report.check(result.returncode == 0, f"kustomize renders {folder.relative_to(ROOT)}",
                        f"kubectl kustomize {folder.relative_to(ROOT)} failed: {result.stderr.strip()}"):
        return []
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def schema_check(report: Report, docs: list[dict], origin: str) -> None:
    for doc in docs:
        ident = f"{origin}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
                report.check(True, ident)
            except kubernetes_validate.ValidationError as error:
                report.check(False, ident, f"{ident} is invalid for Kubernetes {version}: {error.message} at {'.'.join(map(str, error.path))}")
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
                report.check(False, ident, f"{ident}: no schema for Kubernetes {version}: {error}")


def selects(selector: dict | None, labels: dict) -> bool:
    """Kubernetes label selector semantics; an empty selector selects all."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pod_spec(doc: dict) -> dict | None:
    if doc["kind"] == "Pod":
        return doc["spec"]
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    return None


def pod_labels(doc: dict) -> dict:
    if doc["kind"] == "Pod":
        return doc["metadata"].get("labels") or {}
    return doc["spec"]["template"]["metadata"].get("labels") or {}


def pod_annotations(doc: dict) -> dict:
    if doc["kind"] == "Pod":
        return doc["metadata"].get("annotations") or {}
    return doc["spec"]["template"]["metadata"].get("annotations") or {}


def resolve_port(port, containers: list[dict]) -> int | None:
    if isinstance(port, int):
        return port
    for container in containers:
        for declared in container.get("ports") or []:
            if declared.get("name") == port:
                return declared["containerPort"]
    return None


def port_allowed(ports: list[dict] | None, port: int, protocol: str = "TCP") -> bool:
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and (p.get("port") is None or p.get("port") == port) for p in ports)


def netpol_allows(policies: list[dict], src: dict, dst: dict | None, port: int, protocol: str = "TCP",
                  ip: str | None = None) -> bool:
    """Whether pod labels `src` may reach pod labels `dst` (or address `ip`) on port."""

    def peer_matches(peer: dict, labels: dict | None, address: str | None) -> bool:
        if "ipBlock" in peer:
            if address is None:
                return False
            block = peer["ipBlock"]
            net = ipaddress.ip_network(block["cidr"])
            inside = ipaddress.ip_address(address) in net
            return inside and not any(ipaddress.ip_address(address) in ipaddress.ip_network(e) for e in block.get("except") or [])
        if "namespaceSelector" in peer:
            return False  # other namespaces: not modelled, so never an in-namespace match
        return labels is not None and selects(peer.get("podSelector"), labels)

    def direction(kind: str, subject: dict, peer_labels: dict | None, address: str | None) -> bool:
        relevant = [p for p in policies if kind in p["spec"].get("policyTypes", ["Ingress"]) and selects(p["spec"].get("podSelector"), subject)]
        if not relevant:
            return True
        rules_key, peers_key = ("egress", "to") if kind == "Egress" else ("ingress", "from")
        for policy in relevant:
            for rule in policy["spec"].get(rules_key) or []:
                peers = rule.get(peers_key)
                if not port_allowed(rule.get("ports"), port, protocol):
                    continue
                if not peers or any(peer_matches(peer, peer_labels, address) for peer in peers):
                    return True
        return False

    if not direction("Egress", src, dst, ip):
        return False
    return dst is None or direction("Ingress", dst, src, None)


def check_kubernetes(report: Report, kubectl: str, image: Image, known_env: set[str]) -> None:
    k8s = ROOT / "k8s"
    report.start("k8s: render and schema")
    version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.strip().replace("\n", ", ")
    report.note(f"kubectl: {version}; schemas: kubernetes-validate {kubernetes_validate.__version__ if hasattr(kubernetes_validate, '__version__') else ''} for {', '.join(KUBE_VERSIONS)} (strict)")
    targets = [k8s / "base"] + sorted(p for p in (k8s / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
    rendered = {}
    for folder in targets:
        docs = kustomize(kubectl, folder, report)
        rendered[folder] = docs
        schema_check(report, docs, str(folder.relative_to(ROOT)))
        report.note(f"{folder.relative_to(ROOT)}: {len(docs)} documents")
    template_path = k8s / "base" / "secret.template.yaml"
    template = {}
    if report.check(template_path.is_file(), "k8s/base/secret.template.yaml exists"):
        template = yaml.safe_load(template_path.read_text())
        schema_check(report, [template], "k8s/base/secret.template.yaml")
        for key, value in (template.get("stringData") or {}).items():
            report.check("REPLACE_ME" in value, f"secret template {key} is a placeholder",
                         f"k8s/base/secret.template.yaml: {key} must hold a REPLACE_ME placeholder, not a value")
    examples = []
    for path in sorted((k8s / "examples").glob("*.yaml")) if (k8s / "examples").is_dir() else []:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        schema_check(report, docs, str(path.relative_to(ROOT)))
        examples.extend(docs)

    protos = proto_service_names()
    for folder, docs in rendered.items():
        where = str(folder.relative_to(ROOT))
        report.start(f"k8s: {where}")
        check_rendered(report, where, docs, examples, template, image, known_env, protos, overlay=folder.parent.name == "overlays")


def check_rendered(report: Report, where: str, docs: list[dict], examples: list[dict], template: dict,
                   image: Image, known_env: set[str], protos: dict[str, str], overlay: bool) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    configmaps = by_kind.get("ConfigMap", {})
    workloads = [d for d in docs if pod_spec(d) is not None]
    secret_keys = set((template.get("stringData") or {}).keys())

    report.check("Secret" not in by_kind, "no Secret is rendered from git",
                 f"{where} renders a Secret: secrets must be created out of band (secret.template.yaml)")
    for name in ["identity", "messaging", "realtime", "webhooks", "gateway"]:
        report.check(name in deployments, f"Deployment {name}")
        report.check(name in services, f"Service {name}")
    jobs = by_kind.get("Job", {})
    report.check(any(c.get("command", [None])[0] == "clickclack-migrate"
                     for j in jobs.values() for c in pod_spec(j)["containers"]), "a Job runs clickclack-migrate")

    config_env: dict[str, str] = {}
    for cm in configmaps.values():
        config_env.update(cm.get("data") or {})
    for key in config_env:
        if is_clickclack_env(key):
            report.check(key in known_env, f"ConfigMap {key} is read by the binaries",
                         f"ConfigMap key {key} is not an env var any ClickClack binary reads")

    # Workloads: security, resources, images, commands, references.
    for doc in workloads:
        ident = f"{doc['kind']}/{doc['metadata']['name']}"
        spec = pod_spec(doc)
        pod_sc = spec.get("securityContext") or {}
        report.check(pod_sc.get("runAsNonRoot") is True, f"{ident}: runAsNonRoot")
        report.check((pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{ident}: seccomp RuntimeDefault")
        report.check(spec.get("automountServiceAccountToken") is False, f"{ident}: no service account token")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for container in spec["containers"]:
            cid = f"{ident}/{container['name']}"
            sc = container.get("securityContext") or {}
            report.check(sc.get("allowPrivilegeEscalation") is False, f"{cid}: allowPrivilegeEscalation false")
            report.check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), f"{cid}: drops ALL capabilities")
            report.check(sc.get("readOnlyRootFilesystem") is True, f"{cid}: read-only root filesystem")
            resources = container.get("resources") or {}
            for kind in ["requests", "limits"]:
                for resource in ["cpu", "memory"]:
                    report.check(resource in (resources.get(kind) or {}), f"{cid}: {kind}.{resource}")
            report.check(image_is_pinned(container["image"]), f"{cid}: image {container['image']} is pinned",
                         f"{cid}: image {container['image']!r} has no tag")
            if overlay:
                report.check("/" in container["image"], f"{cid}: overlay sets a registry image",
                             f"{cid}: image {container['image']!r} is not rewritten to a registry by the overlay")
            command = container.get("command") or []
            program = command[0] if command else "clickclack-gateway"
            report.check(program in image.binaries or program in BASE_IMAGE_TOOLS, f"{cid}: runs {program}",
                         f"{cid}: command {program!r} is not in the runtime image")
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    report.check(source["configMapRef"]["name"] in configmaps, f"{cid}: ConfigMap {source['configMapRef']['name']} rendered")
                if "secretRef" in source:
                    report.check(source["secretRef"]["name"] == SECRET_NAME, f"{cid}: secretRef {SECRET_NAME}")
            for env in container.get("env") or []:
                if is_clickclack_env(env["name"]):
                    report.check(env["name"] in known_env, f"{cid}: {env['name']} is read by the binaries",
                                 f"{cid}: env {env['name']} is not read by any ClickClack binary")
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    report.check(ref["name"] == SECRET_NAME and ref["key"] in secret_keys, f"{cid}: secret {ref['name']}/{ref['key']} in the template",
                                 f"{cid}: secretKeyRef {ref['name']}/{ref['key']} is not in secret.template.yaml")
                if any(word in env["name"] for word in SECRET_ENV_WORDS) or env["name"] == "DATABASE_URL":
                    report.check("value" not in env, f"{cid}: {env['name']} is not inline", f"{cid}: {env['name']} has an inline value")
            for mount in container.get("volumeMounts") or []:
                if report.check(mount["name"] in volumes, f"{cid}: volume {mount['name']} declared"):
                    claim = (volumes[mount["name"]].get("persistentVolumeClaim") or {}).get("claimName")
                    if claim:
                        report.check(claim in by_kind.get("PersistentVolumeClaim", {}), f"{cid}: PVC {claim} rendered")

    # Probes and ports, per component.
    for name, (binary, listen_env, addr_env, proto_key) in SERVICES.items():
        deployment = deployments.get(name)
        if not deployment:
            continue
        container = pod_spec(deployment)["containers"][0]
        listen = port_of(config_env.get(listen_env, ""))
        report.check(config_env.get(listen_env, "").startswith("0.0.0.0:"), f"{name}: listens on all interfaces")
        ports = {p["containerPort"] for p in container.get("ports") or []}
        report.check(container.get("command") == [binary], f"{name}: runs {binary}")
        report.check(listen in ports, f"{name}: containerPort {listen} (its {listen_env})")
        report.check(METRICS_PORT in ports, f"{name}: exposes metrics port {METRICS_PORT}")
        report.check(port_of(config_env.get(METRICS_ENV, "")) == METRICS_PORT, f"{name}: {METRICS_ENV} on {METRICS_PORT}")
        readiness = container.get("readinessProbe") or {}
        report.check("grpc" in readiness, f"{name}: gRPC readiness probe", f"{name}: readinessProbe must use grpc:")
        grpc = readiness.get("grpc") or {}
        report.check(grpc.get("port") == listen, f"{name}: readiness probes port {listen}")
        report.check(grpc.get("service") == protos.get(proto_key), f"{name}: readiness asks for {protos.get(proto_key)}",
                     f"{name}: readiness grpc.service is {grpc.get('service')!r}, the service reports {protos.get(proto_key)!r}")
        startup = (container.get("startupProbe") or {}).get("grpc") or {}
        report.check(startup.get("port") == listen, f"{name}: gRPC startup probe on {listen}")
        liveness = container.get("livenessProbe") or {}
        report.check(liveness and resolve_port((liveness.get("tcpSocket") or liveness.get("grpc") or {}).get("port"), [container]) == listen,
                     f"{name}: liveness probe on {listen}")
        annotations = pod_annotations(deployment)
        report.check(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/port") == str(METRICS_PORT),
                     f"{name}: prometheus.io scrape annotations on {METRICS_PORT}")
        service = services.get(name)
        if service:
            service_ports = {p["port"] for p in service["spec"]["ports"]}
            report.check(listen in service_ports and METRICS_PORT in service_ports, f"Service {name}: ports {listen} and {METRICS_PORT}")
        address = config_env.get(addr_env, "")
        host, port = host_of(address), port_of(address)
        report.check(host in services and port in {p["port"] for p in services[host]["spec"]["ports"]},
                     f"{addr_env} -> Service {host}:{port}", f"{addr_env}={address!r} is not a rendered Service port")

    gateway = deployments.get("gateway")
    if gateway:
        container = pod_spec(gateway)["containers"][0]
        listen = port_of(config_env.get(GATEWAY[1], ""))
        report.check(config_env.get(GATEWAY[1], "").startswith("0.0.0.0:"), "gateway: listens on all interfaces")
        for probe, path in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")]:
            http = (container.get(probe) or {}).get("httpGet") or {}
            report.check(http.get("path") == path and resolve_port(http.get("port"), [container]) == listen,
                         f"gateway: {probe} GET {path} on {listen}")
        annotations = pod_annotations(gateway)
        report.check(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/port") == str(listen),
                     "gateway: prometheus.io scrape annotations")

    # Deployments select their own pods; Services reach real ports.
    for name, deployment in deployments.items():
        report.check(selects(deployment["spec"]["selector"], pod_labels(deployment)), f"Deployment {name}: selector matches its pods")
        for probe in ["readinessProbe", "livenessProbe"]:
            report.check(all(probe in c for c in pod_spec(deployment)["containers"]), f"Deployment {name}: {probe}")
    for name, service in services.items():
        backends = [d for d in workloads if d["kind"] == "Deployment" and selects({"matchLabels": service["spec"].get("selector") or {}}, pod_labels(d))]
        if not report.check(len(backends) == 1, f"Service {name}: selects one Deployment",
                            f"Service {name} selects {len(backends)} Deployments"):
            continue
        containers = pod_spec(backends[0])["containers"]
        for port in service["spec"]["ports"]:
            report.check(resolve_port(port.get("targetPort", port["port"]), containers) is not None,
                         f"Service {name}: targetPort {port.get('targetPort')} exists",
                         f"Service {name}: targetPort {port.get('targetPort')!r} is no container port")

    # Autoscalers and disruption budgets.
    hpas = by_kind.get("HorizontalPodAutoscaler", {})
    targets = set()
    for name, hpa in hpas.items():
        report.check(hpa["apiVersion"] == "autoscaling/v2", f"HPA {name}: autoscaling/v2")
        ref = hpa["spec"]["scaleTargetRef"]
        targets.add(ref["name"])
        if report.check(ref["kind"] == "Deployment" and ref["name"] in deployments, f"HPA {name}: targets Deployment {ref['name']}"):
            report.check("replicas" not in deployments[ref["name"]]["spec"], f"HPA {name}: Deployment leaves replicas to it",
                         f"Deployment {ref['name']} sets replicas, which fights its HPA on every apply")
        report.check(hpa["spec"].get("minReplicas", 1) >= 2, f"HPA {name}: minReplicas >= 2")
    report.check({"gateway", "realtime"} <= targets, "HPAs for gateway and realtime")
    pdbs = by_kind.get("PodDisruptionBudget", {})
    for name, pdb in pdbs.items():
        matched = [d for d in deployments.values() if selects(pdb["spec"]["selector"], pod_labels(d))]
        if report.check(len(matched) == 1, f"PDB {name}: selects one Deployment", f"PDB {name} selects {len(matched)} Deployments"):
            target = matched[0]
            replicas = target["spec"].get("replicas")
            if replicas is None:
                replicas = min((h["spec"].get("minReplicas", 1) for h in hpas.values() if h["spec"]["scaleTargetRef"]["name"] == target["metadata"]["name"]), default=1)
            report.check(replicas >= 2, f"PDB {name}: {replicas} replicas leave room to drain",
                         f"PDB {name}: Deployment {target['metadata']['name']} has {replicas} replica(s); the budget would block node drains")
    for name in ["identity", "messaging", "realtime", "webhooks", "gateway"]:
        report.check(any(selects(p["spec"]["selector"], pod_labels(deployments[name])) for p in pdbs.values()) if name in deployments else False,
                     f"PDB covers {name}")

    # Ingress: backend and WebSocket timeouts.
    for name, ingress in by_kind.get("Ingress", {}).items():
        annotations = ingress["metadata"].get("annotations") or {}
        for key in ["nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"]:
            report.check(int(annotations.get(key, "0")) >= 3600, f"Ingress {name}: {key} >= 3600")
        for rule in ingress["spec"].get("rules") or []:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                svc = services.get(backend["name"])
                ok = svc is not None and any(p.get("name") == backend["port"].get("name") or p["port"] == backend["port"].get("number") for p in svc["spec"]["ports"])
                report.check(ok, f"Ingress {name}: backend {backend['name']}:{backend['port']}")
    report.check(bool(by_kind.get("Ingress")), "an Ingress for the gateway")

    # NetworkPolicies: the reachability matrix.
    policies = list(by_kind.get("NetworkPolicy", {}).values())
    report.check(any(p["spec"].get("podSelector") in ({}, None) and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                     and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies), "a default-deny policy")
    pods = {}
    for doc in workloads + [e for e in examples if e.get("kind") == "Pod"]:
        labels = pod_labels(doc)
        component = labels.get("app.kubernetes.io/component")
        if component:
            pods[component] = labels
    for policy in policies:
        selector = policy["spec"].get("podSelector") or {}
        report.check(not selector or any(selects(selector, labels) for labels in pods.values()),
                     f"NetworkPolicy {policy['metadata']['name']}: selects some pod",
                     f"NetworkPolicy {policy['metadata']['name']} selects no pod")
    report.check("admin" in pods, "an admin pod example carries app.kubernetes.io/component=admin")
    service_ports = {"identity": 50051, "messaging": 50052, "realtime": 50053, "webhooks": 50054, "gateway": 8080}
    expected = {
        ("gateway", "identity"), ("gateway", "messaging"), ("gateway", "realtime"), ("gateway", "webhooks"),
        ("admin", "identity"), ("admin", "messaging"), ("admin", "webhooks"),
        ("identity", "realtime"), ("messaging", "realtime"),
        ("webhooks", "identity"), ("webhooks", "realtime"),
    }
    for src in sorted(pods):
        for dst, port in service_ports.items():
            if dst not in pods or src == dst:
                continue
            allowed = netpol_allows(policies, pods[src], pods[dst], port)
            want = (src, dst) in expected
            report.check(allowed == want, f"{src} -> {dst}:{port} {'allowed' if want else 'denied'}",
                         f"NetworkPolicy: {src} -> {dst}:{port} is {'allowed' if allowed else 'denied'}, expected {'allowed' if want else 'denied'}")
        for dst in ["identity", "messaging", "realtime", "webhooks"]:
            if dst in pods and src != dst:
                report.check(not netpol_allows(policies, pods[src], pods[dst], METRICS_PORT), f"{src} -> {dst}:{METRICS_PORT} denied")
    postgres_blocks = [peer["ipBlock"]["cidr"] for p in policies for rule in p["spec"].get("egress") or []
                       if port_allowed(rule.get("ports"), 5432) and rule.get("ports") for peer in rule.get("to") or [] if "ipBlock" in peer]
    if report.check(bool(postgres_blocks), "a Postgres egress CIDR on 5432"):
        address = str(next(ipaddress.ip_network(postgres_blocks[0]).hosts()))
        report.note(f"Postgres CIDR {postgres_blocks[0]} (probing {address})")
        for src in sorted(pods):
            want = src in ("identity", "messaging", "realtime", "webhooks", "migrate")
            allowed = netpol_allows(policies, pods[src], None, 5432, ip=address)
            report.check(allowed == want, f"{src} -> postgres:5432 {'allowed' if want else 'denied'}",
                         f"NetworkPolicy: {src} -> Postgres:5432 is {'allowed' if allowed else 'denied'}, expected {'allowed' if want else 'denied'}")
            report.check(not netpol_allows(policies, pods[src], None, 443, ip=address), f"{src} -> Postgres CIDR:443 denied")
    # Webhooks reaches bots' public endpoints, and nothing private.
    if "webhooks" in pods:
        for address, want in [("93.184.216.34", True), ("10.1.2.3", False), ("192.168.1.1", False),
                              ("169.254.169.254", False), ("127.0.0.1", False)]:
            allowed = netpol_allows(policies, pods["webhooks"], None, 443, ip=address)
            report.check(allowed == want, f"webhooks -> {address}:443 {'allowed' if want else 'denied'}",
                         f"NetworkPolicy: webhooks -> {address}:443 is {'allowed' if allowed else 'denied'}, expected {'allowed' if want else 'denied'}")
    for src in sorted(pods):
        report.check(netpol_allows(policies, pods[src], None, 53, protocol="UDP", ip="10.96.0.10"), f"{src} -> DNS allowed")

    if overlay:
        namespaced = [d for d in docs if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")]
        namespaces = {d["metadata"].get("namespace") for d in namespaced}
        report.check(len(namespaces) == 1 and None not in namespaces, f"{where}: every object in one namespace ({', '.join(map(str, namespaces))})")
        report.check("Namespace" in by_kind, f"{where}: creates its Namespace")


# --------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubectl", default="kubectl", help="kubectl binary used for `kubectl kustomize`")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every check, not only failures")
    args = parser.parse_args()

    report = Report(verbose=args.verbose)
    report.start("Rust workspace")
    bins = cargo_bins(report)
    known_env = known_env_names()
    report.check(bool(bins), "cargo metadata lists the workspace binaries")
    contract = {"DATABASE_URL", "CLICKCLACK_INTERNAL_KEY", GATEWAY[1], METRICS_ENV}
    for _, listen_env, addr_env, _ in SERVICES.values():
        contract |= {listen_env, addr_env}
    for name in sorted(contract):
        report.check(name in known_env, f"the binaries read {name}", f"no binary reads {name} any more: update the deployment files")
    protos = proto_service_names()
    for _, _, _, key in SERVICES.values():
        report.check(key in protos, f"proto defines {key}_SERVICE_NAME")
    report.note(f"Cargo binaries: {', '.join(f'{b} ({p})' for b, p in sorted(bins.items()))}")
    report.note(f"{len(known_env)} env vars read by the binaries and helpers")

    image = check_dockerfile(report, bins)
    check_compose(report, image, known_env)
    check_kubernetes(report, args.kubectl, image, known_env)
    report.start(None)

    print()
    if report.errors:
        print(f"validate-deploy: FAILED, {len(report.errors)} problem(s) ({report.passed} checks passed):")
        for error in report.errors:
            print(f"  - {error}")
        return 1
    print(f"validate-deploy: OK, {report.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
