#!/usr/bin/env python3
"""Regenerate tests/github/openapi.github.trimmed.json from GitHub's official OpenAPI description.

The source is the npm package `@octokit/openapi` (MIT licensed, see OPENAPI-LICENSE.txt), whose
`generated/api.github.com.json` is ~13 MB (the whole package ~400 MB unpacked). The tests only
need the operations `gate/publish/github.py` calls, so this script keeps those and nothing else:

* the operations listed in OPERATIONS (plus the components they reference, transitively);
* every `http(s)://api.github.com` in examples is rewritten to PLACEHOLDER_BASE
  (`http://127.0.0.1:4010`, Prism's default address). PyGithub follows the `url` fields of
  responses and refuses hosts other than its base URL, so the test fixture substitutes the real
  `http://127.0.0.1:<port>` when it starts Prism;
* `Link` response headers are dropped: their examples point at page 2 of api.github.com, which
  PyGithub's PaginatedList would follow;
* responses documented as `application/json` also list GitHub's own media types
  (`application/vnd.github+json`, `application/vnd.github.v3+json`, see "Media types" in GitHub's
  REST docs) with the same schema and examples: PyGithub sends `Accept: application/vnd.github.v3+json`
  for some calls (listing check runs) and Prism answers 406 to a media type the description lacks.
  `application/json` is moved first, because Prism answers `Accept: */*` with the first one (for
  contents that is `application/vnd.github.object`, which it cannot serialise) and GitHub with JSON;
* response examples that violate their own schema (GitHub's examples lag behind: a property
  became required) are repaired by filling the missing required properties (null when nullable),
  because Prism runs with `--errors` and would answer 500; anything else fails the script;
* path parameters marked `x-multi-segment` (a git ref such as `heads/asr-gate/baseline`, a file
  path such as `baselines/suite.json`) are aliased: Prism matches one path segment per parameter,
  so `/repos/{owner}/{repo}/git/ref/{ref}` also gets `.../{ref}/{ref__2}` ... up to
  MAX_SEGMENTS segments (operationId `<id>--segments-<n>`, `x-asr-gate-alias-of` names the
  original path).

Regenerate (no need to add the 400 MB package to the project's package.json):

    mkdir -p /tmp/oa && cd /tmp/oa && npm pack @octokit/openapi@<version>
    .venv/bin/python tests/github/trim_openapi.py /tmp/oa/octokit-openapi-<version>.tgz

Run it with the project's virtualenv (it needs jsonschema). The argument may also be an extracted
`api.github.com.json`. The output path defaults to
`tests/github/openapi.github.trimmed.json`; the license file next to it is refreshed too.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "openapi.github.trimmed.json"
LICENSE_OUT = HERE / "OPENAPI-LICENSE.txt"
PLACEHOLDER_BASE = "http://127.0.0.1:4010"
MAX_SEGMENTS = 6
MEMBER = "package/generated/api.github.com.json"

#: operationIds gate/publish/github.py uses (directly or through PyGithub)
OPERATIONS = (
    "repos/get",  # GET /repos/{owner}/{repo}
    "users/get-authenticated",  # GET /user (who am I, for a PAT)
    "checks/create",  # POST /repos/{owner}/{repo}/check-runs
    "checks/update",  # PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}
    "checks/list-for-ref",  # GET /repos/{owner}/{repo}/commits/{ref}/check-runs
    "issues/get",  # GET /repos/{owner}/{repo}/issues/{issue_number}
    "issues/list-comments",  # GET /repos/{owner}/{repo}/issues/{issue_number}/comments
    "issues/create-comment",  # POST /repos/{owner}/{repo}/issues/{issue_number}/comments
    "issues/update-comment",  # PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}
    "pulls/get",  # GET /repos/{owner}/{repo}/pulls/{pull_number}
    "pulls/list",  # GET /repos/{owner}/{repo}/pulls
    "pulls/create",  # POST /repos/{owner}/{repo}/pulls
    "pulls/update",  # PATCH /repos/{owner}/{repo}/pulls/{pull_number}
    "git/get-ref",  # GET /repos/{owner}/{repo}/git/ref/{ref}
    "git/create-ref",  # POST /repos/{owner}/{repo}/git/refs
    "git/update-ref",  # PATCH /repos/{owner}/{repo}/git/refs/{ref}
    "repos/get-content",  # GET /repos/{owner}/{repo}/contents/{path}
    "repos/create-or-update-file-contents",  # PUT /repos/{owner}/{repo}/contents/{path}
)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_source(src: Path) -> tuple[dict[str, Any], str | None, str | None]:
    """Return (description, package version, license text) from a .tgz or a .json file."""
    if src.suffix in (".tgz", ".gz"):
        with tarfile.open(src, "r:gz") as tar:
            doc = json.load(tar.extractfile(MEMBER))  # type: ignore[arg-type]
            pkg = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            lic = tar.extractfile("package/LICENSE").read().decode()  # type: ignore[union-attr]
        return doc, pkg.get("version"), lic
    doc = json.loads(src.read_text(encoding="utf-8"))
    version = lic = None
    pkg_json = src.parent.parent / "package.json"
    if pkg_json.is_file():
        version = json.loads(pkg_json.read_text()).get("version")
    lic_file = src.parent.parent / "LICENSE"
    if lic_file.is_file():
        lic = lic_file.read_text()
    return doc, version, lic


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def drop_link_headers(node: Any) -> None:
    """Remove `Link` headers from every response object below node."""
    if isinstance(node, dict):
        headers = node.get("headers")
        if isinstance(headers, dict):
            for name in [h for h in headers if h.lower() == "link"]:
                del headers[name]
            if not headers:
                del node["headers"]
        for value in node.values():
            drop_link_headers(value)
    elif isinstance(node, list):
        for value in node:
            drop_link_headers(value)


#: GitHub's JSON media types, served like application/json (https://docs.github.com/rest/using-the-rest-api/media-types)
GITHUB_JSON_MEDIA_TYPES = ("application/vnd.github+json", "application/vnd.github.v3+json")


def add_media_types(responses: dict[str, Any]) -> None:
    for response in responses.values():
        content = response.get("content") if isinstance(response, dict) else None
        if isinstance(content, dict) and "application/json" in content:
            for media in GITHUB_JSON_MEDIA_TYPES:
                content.setdefault(media, copy.deepcopy(content["application/json"]))
            # GitHub answers `Accept: */*` with application/json; Prism picks the first entry
            ordered = {"application/json": content.pop("application/json"), **content}
            content.clear()
            content.update(ordered)


def collect_refs(doc: dict[str, Any], roots: list[Any]) -> set[str]:
    """All `#/components/...` refs reachable from roots."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                target = copy.deepcopy(resolve(doc, ref))
                drop_link_headers(target)
                stack.append(target)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return seen


def to_jsonschema(node: Any, base_uri: str = "") -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema draft 4: `nullable`, and `#/...` refs prefixed with base_uri."""
    if isinstance(node, list):
        return [to_jsonschema(v, base_uri) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_jsonschema(v, base_uri) for k, v in node.items()}
    ref = out.get("$ref")
    if base_uri and isinstance(ref, str) and ref.startswith("#/"):
        out["$ref"] = base_uri + ref
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = list(out["enum"]) + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _placeholder(schema: dict[str, Any], resolve_ref: Any) -> Any:
    """A value for a required property an example forgot: null if allowed, else the schema's own hint."""
    while "$ref" in schema:
        schema = resolve_ref(schema["$ref"])
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf")
        if any(o.get("type") == "null" for o in options):
            return None
        return _placeholder(options[0], resolve_ref)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "null" in types:
        return None
    for key in ("example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if schema.get("enum"):
        return schema["enum"][0]
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}.get(types[0], None)


def repair_examples(doc: dict[str, Any]) -> list[str]:
    """Make every response example valid against its schema; return what was changed.

    GitHub's examples lag behind its schemas (a property became required, the example was not
    updated). Prism runs with `--errors`, so it answers 500 when the example it serves violates the
    schema. Missing required properties are filled in (null when nullable); any other violation is
    an error, so regenerating from a new release shows what needs a look.
    """
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    uri = "urn:asr-gate:github-openapi"
    schema_doc = to_jsonschema(doc, uri)
    registry = Registry().with_resource(uri, Resource.from_contents(schema_doc, DRAFT4))

    def resolve_ref(ref: str) -> Any:
        return resolve(schema_doc, ref.split("#", 1)[1])

    changes: list[str] = []
    problems: list[str] = []
    for item in doc["paths"].values():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            for status, response in op.get("responses", {}).items():
                if "$ref" in response:
                    response = resolve(doc, response["$ref"])
                for media, content in response.get("content", {}).items():
                    if media != "application/json" or "schema" not in content:
                        continue
                    schema = to_jsonschema(content["schema"], uri)
                    validator = jsonschema.Draft4Validator(schema, registry=registry)
                    for name, example in content.get("examples", {}).items():
                        holder = resolve(doc, example["$ref"]) if "$ref" in example else example
                        value = holder.get("value")
                        where = f"{op['operationId']} {status} example {name}"
                        for _ in range(50):
                            errors = list(validator.iter_errors(value))
                            if not errors:
                                break
                            fixed = False
                            for err in errors:
                                if err.validator != "required":
                                    continue
                                target: Any = value
                                for part in err.absolute_path:
                                    target = target[part]
                                props = err.schema.get("properties", {})
                                for prop in err.validator_value:
                                    if isinstance(target, dict) and prop not in target:
                                        target[prop] = _placeholder(props.get(prop, {}), resolve_ref)
                                        loc = "/".join(map(str, err.absolute_path)) or "(root)"
                                        changes.append(f"{where}: {loc}.{prop} = {target[prop]!r}")
                                        fixed = True
                            if not fixed:
                                problems += [f"{where}: {e.message[:200]}" for e in errors]
                                break
    if problems:
        raise SystemExit("examples that violate their schema (add a repair):\n  " + "\n  ".join(problems))
    return changes


def inline_example_values(node: Any, doc: dict[str, Any]) -> None:
    """`examples: {x: {value: {$ref: #/components/examples/y}}}` (an Example as a value) -> `{$ref: ...}`."""
    if isinstance(node, dict):
        examples = node.get("examples")
        if isinstance(examples, dict):
            for key, ex in examples.items():
                if isinstance(ex, dict) and isinstance(ex.get("value"), dict) and set(ex["value"]) == {"$ref"} \
                        and ex["value"]["$ref"].startswith("#/components/examples/"):
                    examples[key] = {"$ref": ex["value"]["$ref"]}
        for value in node.values():
            inline_example_values(value, doc)
    elif isinstance(node, list):
        for value in node:
            inline_example_values(value, doc)


def multi_segment_params(doc: dict[str, Any], op: dict[str, Any]) -> list[str]:
    names = []
    for p in op.get("parameters", []):
        param = resolve(doc, p["$ref"]) if "$ref" in p else p
        if param.get("in") == "path" and param.get("x-multi-segment"):
            names.append(param["name"])
    return names


def alias_paths(path: str, param: str) -> list[tuple[int, str, list[str]]]:
    """Variants of path where {param} spans 2..MAX_SEGMENTS segments."""
    out = []
    for n in range(2, MAX_SEGMENTS + 1):
        extra = [f"{param}__{i}" for i in range(2, n + 1)]
        repl = "/".join([f"{{{param}}}"] + [f"{{{e}}}" for e in extra])
        out.append((n, path.replace(f"{{{param}}}", repl), extra))
    return out


def trim(doc: dict[str, Any], version: str | None) -> dict[str, Any]:
    wanted = set(OPERATIONS)
    paths: dict[str, Any] = {}
    found: set[str] = set()
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not op or op.get("operationId") not in wanted:
                continue
            found.add(op["operationId"])
            op = copy.deepcopy(op)
            drop_link_headers(op)
            inline_example_values(op, doc)
            add_media_types(op.get("responses", {}))
            paths.setdefault(path, {})[method] = op
            if "parameters" in item:
                paths[path].setdefault("parameters", copy.deepcopy(item["parameters"]))
    missing = wanted - found
    if missing:
        raise SystemExit(f"operations not found in the description: {sorted(missing)}")

    # aliases for parameters that contain '/'
    for path, item in list(paths.items()):
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            for param in multi_segment_params(doc, op):
                for n, alias, extra in alias_paths(path, param):
                    aop = copy.deepcopy(op)
                    aop["operationId"] = f"{op['operationId']}--segments-{n}"
                    aop["parameters"] = aop.get("parameters", []) + [
                        {"name": e, "in": "path", "required": True, "schema": {"type": "string"},
                         "description": f"segment {i + 2} of `{param}` (alias: `{param}` may contain '/')"}
                        for i, e in enumerate(extra)
                    ]
                    target = paths.setdefault(alias, {"x-asr-gate-alias-of": path})
                    target[method] = aop

    refs = collect_refs(doc, [paths])
    components: dict[str, dict[str, Any]] = {}
    for ref in sorted(refs):
        parts = ref.lstrip("#/").split("/")
        if parts[0] != "components" or len(parts) != 3:
            raise SystemExit(f"unexpected $ref {ref}")
        target = copy.deepcopy(resolve(doc, ref))
        drop_link_headers(target)
        inline_example_values(target, doc)
        if parts[1] == "responses":
            add_media_types({parts[2]: target})
        components.setdefault(parts[1], {})[parts[2]] = target
    if "headers" in components:
        components["headers"].pop("link", None)

    info = dict(doc["info"])
    info["description"] = (
        "Trimmed copy of GitHub's REST API description from the npm package @octokit/openapi"
        f"{' ' + version if version else ''} (MIT license, see OPENAPI-LICENSE.txt), generated by "
        "tests/github/trim_openapi.py for asr-gate's contract tests. Only the operations asr-gate "
        "uses are kept; example URLs point at " + PLACEHOLDER_BASE + "; Link headers are dropped; "
        "GitHub's JSON media types are listed, application/json first; examples that violate their schema "
        "are repaired; multi-segment path parameters are aliased."
    )
    out = {
        "openapi": doc["openapi"],
        "info": info,
        "servers": [{"url": PLACEHOLDER_BASE}],
        "externalDocs": doc.get("externalDocs"),
        "paths": dict(sorted(paths.items())),
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }
    text = json.dumps(out)
    text = re.sub(r"https?://api\.github\.com(?=[/\"?#<{])", PLACEHOLDER_BASE, text)
    out = json.loads(text)
    for change in repair_examples(out):
        print(f"repaired example: {change}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="octokit-openapi-<version>.tgz or generated/api.github.com.json")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    doc, version, lic = load_source(args.source)
    trimmed = trim(doc, version)
    args.out.write_text(json.dumps(trimmed, indent=1, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8")
    if lic:
        LICENSE_OUT.write_text(
            "tests/github/openapi.github.trimmed.json is derived from the npm package @octokit/openapi"
            f"{' ' + version if version else ''}\n(https://github.com/octokit/openapi), "
            "which is distributed under the following license:\n\n" + lic.rstrip() + "\n",
            encoding="utf-8",
        )
    size = args.out.stat().st_size
    n_ops = sum(1 for item in trimmed["paths"].values() for m in METHODS if m in item)
    print(f"wrote {args.out} ({size / 1024:.0f} KiB, {n_ops} operations incl. aliases)", file=sys.stderr)
    if size > 1_000_000:
        print("warning: trimmed description is larger than 1 MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
