"""The deployment files match the cluster test: compose mounts the nginx config the test renders, fills in every
variable it has, and the balancer keeps no stickiness and proxies the WebSocket upgrade. Fast: no server."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from benchmarks.cluster import NGINX_SITE, main_conf, nginx_binary, render_site

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"


def variables(text: str) -> set[str]:
    """The ${ASSIST_...} variables of a template (nginx's own $variables are not ours)."""
    return set(re.findall(r"\$\{(ASSIST_[A-Z_]+)\}", text))


def test_compose_mounts_the_tests_nginx_config_and_sets_each_of_its_variables() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    lb = compose["services"]["lb"]
    mounts = {m.split(":")[0]: m.split(":")[1] for m in lb["volumes"]}
    assert (COMPOSE.parent / "./nginx.conf").resolve() == NGINX_SITE.resolve()
    assert mounts["./nginx.conf"] == "/etc/nginx/templates/default.conf.template"
    assert (
        variables(NGINX_SITE.read_text())
        == set(lb["environment"])
        == {
            "ASSIST_LB_LISTEN",
            "ASSIST_UPSTREAM_SERVERS",
            "ASSIST_LB_ACCESS_LOG",
        }
    )
    upstreams = lb["environment"]["ASSIST_UPSTREAM_SERVERS"]
    replicas = [name for name in compose["services"] if name.startswith("replica")]
    assert len(replicas) >= 2 and all(f"server {r}:8000" in upstreams for r in replicas)
    for r in replicas:  # one database for all, a data dir each
        env = compose["services"][r]["environment"]
        assert (
            env["ASSIST_DATABASE_URL"].startswith("postgresql+psycopg://") and "@db:5432/" in env["ASSIST_DATABASE_URL"]
        )
    assert len({compose["services"][r]["volumes"][0] for r in replicas}) == len(replicas)


def test_the_balancer_is_round_robin_without_stickiness_and_proxies_websockets() -> None:
    site = render_site(listen="127.0.0.1:9", upstreams=["127.0.0.1:1", "127.0.0.1:2"], access_log="/dev/null")
    assert variables(site) == set()
    config = "\n".join(line.split("#")[0] for line in site.splitlines())  # the directives, not the comments
    for sticky in ("ip_hash", "hash ", "sticky", "least_conn"):
        assert sticky not in config
    assert "server 127.0.0.1:1 " in config and "server 127.0.0.1:2 " in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config
    assert "proxy_http_version 1.1;" in config


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)")
def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    site = tmp_path / "site.conf"
    site.write_text(render_site(listen="127.0.0.1:9", upstreams=["127.0.0.1:1"], access_log=tmp_path / "access.log"))
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / kind).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(main_conf(tmp_path, site))
    done = subprocess.run(
        [str(nginx_binary()), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
