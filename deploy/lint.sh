#!/usr/bin/env bash
# Offline checks of the cluster deployment (`make deploy-lint`, tests/spark/test_deploy_lint.py):
#   hadolint           deploy/Dockerfile (Dockerfile best practices and shellcheck of RUN lines)
#   yamllint           deploy/helm/values.yaml (YAML syntax and style)
#   check-jsonschema   the schema itself against the JSON Schema metaschema, then the values against it
# The tools come from the `spark` dependency group (uv.lock); none of them reaches the network.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"

"$BIN/hadolint" deploy/Dockerfile
echo "[deploy-lint] hadolint: deploy/Dockerfile ok"
"$BIN/yamllint" --strict -c deploy/.yamllint.yaml deploy/helm/values.yaml deploy/.yamllint.yaml
echo "[deploy-lint] yamllint: deploy/helm/values.yaml ok"
"$BIN/check-jsonschema" --check-metaschema deploy/helm/values.schema.json
"$BIN/check-jsonschema" --schemafile deploy/helm/values.schema.json deploy/helm/values.yaml
echo "[deploy-lint] check-jsonschema: deploy/helm/values.yaml ok"
