"""``kronika publish`` against a small stand-in of the Hub's HTTP API on 127.0.0.1 (this machine cannot reach the Hub).

The stand-in implements just what huggingface_hub calls for ``create_repo``,
``upload_folder`` (README check, tree listing for deletions, preupload,
NDJSON commit with the files inline in base64) and ``create_tag``; it records
what arrives, and the test checks the files and the tag. The upload runs in a
subprocess whose environment alone points HF_ENDPOINT at the stand-in, with a
dummy token and offline mode off.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from corpus_helpers import build_corpus, write_seeds
from kronika.croissant import document
from kronika.publish import plan

pytest.importorskip("huggingface_hub")
TOKEN = "hf_dummy_token_for_the_stand_in"


class Hub:
    """State of the stand-in: repositories with their files, commits and tags, and every request seen."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _route(self, method: str) -> None:
            path = unquote(urlsplit(self.path).path)
            with hub.lock:
                hub.requests.append((method, path, self.headers.get("Authorization")))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"error": "Invalid credentials"})
            body = self._body() if method == "POST" else b""
            if method == "POST" and path == "/api/repos/create":
                return self._create(json.loads(body))
            if method == "POST" and path == "/api/validate-yaml":
                return self._send(200, {"errors": [], "warnings": []})
            parts = path.split("/")  # '', 'api', 'datasets', org, name, action, revision, ...
            if len(parts) < 7 or parts[:3] != ["", "api", "datasets"]:
                return self._send(404, {"error": f"no route {method} {path}"})
            repo = hub.repos.get(f"{parts[3]}/{parts[4]}")
            if repo is None:
                return self._send(404, {"error": "Repository not found"})
            action = parts[5]
            if method == "GET" and action == "tree":
                prefix = "/".join(parts[7:])
                return self._send(200, [{"type": "file", "path": p, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                                        for p, d in sorted(repo["files"].items()) if p.startswith(prefix)])
            if method == "GET" and action == "revision":
                return self._send(200, {"id": f"{parts[3]}/{parts[4]}", "sha": repo["commits"][-1], "siblings": []})
            if method == "POST" and action == "preupload":
                files = json.loads(body)["files"]
                return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]})
            if method == "POST" and action == "commit":
                return self._commit(repo, parts, body)
            if method == "POST" and action == "tag":
                return self._tag(repo, json.loads(body), parts[6])
            return self._send(404, {"error": f"no route {method} {path}"})

        def _create(self, payload: dict[str, Any]) -> None:
            repo_id = f"{payload['organization']}/{payload['name']}"
            assert payload.get("type") == "dataset"
            with hub.lock:
                if repo_id in hub.repos:
                    return self._send(409, {"error": "You already created this dataset repo", "url": f"http://{self.headers['Host']}/datasets/{repo_id}"})
                hub.repos[repo_id] = {"files": {".gitattributes": b"*.parquet filter=lfs\n"}, "commits": ["0" * 40], "tags": {}, "messages": []}
            self._send(200, {"url": f"http://{self.headers['Host']}/datasets/{repo_id}"})

        def _commit(self, repo: dict[str, Any], parts: list[str], body: bytes) -> None:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            with hub.lock:
                for item in lines:
                    key, value = item["key"], item["value"]
                    if key == "header":
                        repo["messages"].append(value["summary"])
                    elif key == "file":
                        assert value["encoding"] == "base64"
                        repo["files"][value["path"]] = base64.b64decode(value["content"])
                    elif key == "deletedFile":
                        repo["files"].pop(value["path"], None)
                    elif key == "deletedFolder":
                        for p in [p for p in repo["files"] if p.startswith(value["path"].rstrip("/") + "/")]:
                            del repo["files"][p]
                    else:
                        return self._send(400, {"error": f"the stand-in does not take {key}"})
                oid = hashlib.sha1(body).hexdigest()
                repo["commits"].append(oid)
            self._send(200, {"commitUrl": f"http://{self.headers['Host']}/datasets/{parts[3]}/{parts[4]}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None})

        def _tag(self, repo: dict[str, Any], payload: dict[str, Any], revision: str) -> None:
            with hub.lock:
                if payload["tag"] in repo["tags"]:
                    return self._send(409, {"error": f"Tag {payload['tag']} already exists"})
                repo["tags"][payload["tag"]] = {"revision": revision, "message": payload.get("message")}
            self._send(200, {})

        def do_GET(self) -> None:  # noqa: N802
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

    return Handler


@pytest.fixture()
def hub() -> Any:
    """The stand-in Hub, started on a free port of 127.0.0.1 and stopped after the test."""
    state = Hub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built dataset repository root: card, corpus, croissant.json, schema, LICENSE."""
    root = tmp_path_factory.mktemp("publish")
    corpus = build_corpus(root, write_seeds(root / "seeds", ["100_warszawa"]))
    if not (root / "croissant.json").exists():
        (root / "croissant.json").write_text(document(corpus, version="0.1.0", languages=["pl"]), encoding="utf-8")
    repo = Path(__file__).resolve().parents[1]
    (root / "schema").mkdir()
    for schema in sorted((repo / "schema").glob("*.json")):
        (root / "schema" / schema.name).write_bytes(schema.read_bytes())
    (root / "LICENSE").write_bytes((repo / "LICENSE").read_bytes())
    return root


def _publish(root: Path, hub_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT=hub_url, HF_TOKEN=TOKEN, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return subprocess.run([sys.executable, "-m", "kronika.cli", "publish", "--root", str(root), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_publish_uploads_the_dataset_and_tags_it(dataset: Path, hub: Hub) -> None:
    done = _publish(dataset, hub.url, "--repo-id", "kronika-org/kronika", "--revision", "v0.1.0")
    assert done.returncode == 0, done.stderr[-3000:]
    repo = hub.repos["kronika-org/kronika"]
    expected = {path for path, _ in plan(dataset, "kronika-org/kronika").files}
    assert set(repo["files"]) - {".gitattributes"} == expected
    for path in expected:
        assert repo["files"][path] == (dataset / path).read_bytes(), path
    assert {"README.md", "croissant.json", "corpus/manifest.json", "LICENSE"} <= expected
    assert any(p.startswith("corpus/documents/") and p.endswith(".parquet") for p in expected)
    assert any(p.startswith("schema/") for p in expected) and not any("seeds" in p for p in expected)
    assert repo["tags"] == {"v0.1.0": {"revision": repo["commits"][-1], "message": "Kronika v0.1.0"}}
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in hub.requests)
    assert "published" in done.stdout and "tagged v0.1.0" in done.stdout


def test_republish_replaces_stale_shards_and_refuses_an_existing_tag(dataset: Path, hub: Hub) -> None:
    assert _publish(dataset, hub.url, "--repo-id", "org/k", "--revision", "v1").returncode == 0
    repo = hub.repos["org/k"]
    repo["files"]["corpus/documents/train-00001-of-00002.parquet"] = b"stale"
    assert _publish(dataset, hub.url, "--repo-id", "org/k", "--revision", "v2").returncode == 0
    assert "corpus/documents/train-00001-of-00002.parquet" not in repo["files"] and set(repo["tags"]) == {"v1", "v2"}
    again = _publish(dataset, hub.url, "--repo-id", "org/k", "--revision", "v2")
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "upload failed" in again.stderr


def test_dry_run_lists_and_uploads_nothing(dataset: Path, hub: Hub) -> None:
    done = _publish(dataset, hub.url, "--repo-id", "org/dry", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("would upload ") and "corpus/manifest.json" in done.stdout and "croissant.json" in done.stdout
    assert hub.requests == []


def test_an_invalid_corpus_is_refused(dataset: Path, hub: Hub, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    shard = next((broken / "corpus" / "documents").glob("*.parquet"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    done = _publish(broken, hub.url, "--repo-id", "org/broken")
    assert done.returncode == 1 and "nothing was uploaded" in done.stderr.splitlines()[-1]
    assert hub.requests == [] and "org/broken" not in hub.repos
    bad_id = _publish(dataset, hub.url, "--repo-id", "no-slash")
    assert bad_id.returncode == 1 and "ORG/NAME" in bad_id.stderr
