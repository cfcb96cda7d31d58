"""The deployment files are checked, not guessed: hadolint on the Dockerfile, the Kubernetes schemas on
the manifests, and the compose file against the proxy configuration and the addresses the replicas trust."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path

import yaml

from app.config import Settings

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
    assert re.search(r'^CMD \["python", "-m", "app"\]$', text, re.M)  # uvicorn_options: every GDVIZ_ setting
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


def test_the_replicas_trust_the_proxy_and_only_the_proxy():
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    trusted = Settings(
        forwarded_allow_ips=compose["services"]["gdviz"]["environment"]["GDVIZ_FORWARDED_ALLOW_IPS"]
    )
    proxy = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert trusted.forwarded_allow_ips == proxy  # nginx's own address, not the whole network
    (pool,) = compose["networks"]["default"]["ipam"]["config"]
    address = ipaddress.ip_address(proxy)
    assert address in ipaddress.ip_network(pool["subnet"])
    assert address not in ipaddress.ip_network(pool["ip_range"])  # no replica can be handed it
    assert "ports" not in compose["services"]["gdviz"]  # the replicas are reached through the proxy alone

    deployment = yaml.safe_load((ROOT / "deploy" / "k8s" / "deployment.yaml").read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    pods = Settings(forwarded_allow_ips=env["GDVIZ_FORWARDED_ALLOW_IPS"]).forwarded_allow_ips
    assert ipaddress.ip_network(pods).is_private  # the pod CIDR, where the ingress controller's pods live
