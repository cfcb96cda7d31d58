"""The deployment files are checked, not guessed: hadolint on the Dockerfile, the Kubernetes schemas on
the manifests, and the compose file against the proxy configuration."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_hadolint_reports_nothing():
    result = subprocess.run([str(BIN / "hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout


def test_the_dockerfile_keeps_its_promises():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM ") == 2  # a builder and a slim runtime
    assert re.search(r"^USER 10001$", text, re.M)  # not root
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "torch==${TORCH_VERSION}" in text and "ARG TORCH_VERSION=2.13.0" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)


def test_kubernetes_manifests_validate_against_the_schemas():
    manifests = sorted(str(p) for p in (ROOT / "deploy" / "k8s").glob("*.yaml"))
    assert len(manifests) == 3
    result = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", *manifests], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {yaml.safe_load(Path(m).read_text())["kind"] for m in manifests}
    assert kinds == {"Deployment", "Service", "Ingress"}
    ingress = yaml.safe_load((ROOT / "deploy" / "k8s" / "ingress.yaml").read_text())
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"


def test_compose_replicas_match_the_proxy_upstreams():
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    replicas = compose["services"]["gdviz"]["deploy"]["replicas"]
    upstreams = (ROOT / "deploy" / "gdviz-upstreams.conf").read_text()
    servers = re.findall(r"^server (\S+):8000", upstreams, re.M)
    assert servers == [f"deploy-gdviz-{k}" for k in range(1, replicas + 1)]
    volumes = compose["services"]["proxy"]["volumes"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in volumes
