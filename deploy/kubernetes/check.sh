#!/usr/bin/env bash
# Checks the Kubernetes kit offline: every core manifest against the Kubernetes schemas
# (kubernetes-validate from PyPI, strict: unknown fields refused), the Prometheus Operator
# resources' shape, the PrometheusRule identical to deploy/prometheus/alerts.yml and accepted
# by promtool, and the ConfigMap's gateway.toml and policies accepted by check-config and
# check-policies. Run by .ci/run.
#
# Knobs: GATEWAY_BIN (target/release/llm-gateway), VENV (target/kubernetes-check), K8S (1.33.0:
# the Kubernetes version to validate against).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT/deploy/kubernetes"
GATEWAY_BIN=${GATEWAY_BIN:-$ROOT/target/release/llm-gateway}
VENV=${VENV:-$ROOT/target/kubernetes-check}
K8S=${K8S:-1.33.0}
[ -x "$VENV/bin/kubernetes-validate" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q kubernetes-validate pyyaml; }
WORK=$(mktemp -d /tmp/llm-gateway-k8s-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$VENV/bin/python" - "$WORK" "$K8S" "$VENV/bin/kubernetes-validate" <<'PY'
import os, subprocess, sys, yaml
work, version, validate = sys.argv[1:4]
listed = yaml.safe_load(open("kustomization.yaml"))["resources"]
assert sorted(listed) == sorted(f for f in os.listdir(".") if f.endswith(".yaml")
                                and f not in ("kustomization.yaml", "secret.example.yaml")), listed
kinds = {}
for name in listed + ["secret.example.yaml"]:
    for i, doc in enumerate(d for d in yaml.safe_load_all(open(name)) if d):
        kinds.setdefault(doc["kind"], doc)
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        path = os.path.join(work, f"{name}.{i}.yaml")
        yaml.safe_dump(doc, open(path, "w"))
        run = subprocess.run([validate, "--strict", "-k", version, path], capture_output=True, text=True)
        assert run.returncode == 0, f"{name}: {run.stdout}{run.stderr}"
for kind in ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget",
             "NetworkPolicy", "ServiceMonitor", "PrometheusRule", "Secret", "Namespace"):
    assert kind in kinds, f"no {kind}"
sm = kinds["ServiceMonitor"]["spec"]
assert sm["endpoints"][0]["port"] == "admin" and sm["selector"]["matchLabels"], sm
rule = kinds["PrometheusRule"]["spec"]
alerts = yaml.safe_load(open("../prometheus/alerts.yml"))
assert rule["groups"] == alerts["groups"], "prometheusrule.yaml differs from deploy/prometheus/alerts.yml"
yaml.safe_dump({"groups": rule["groups"]}, open(os.path.join(work, "rules.yml"), "w"))
dep = kinds["Deployment"]["spec"]["template"]["spec"]
c = dep["containers"][0]
assert dep["securityContext"]["runAsNonRoot"] and c["securityContext"]["readOnlyRootFilesystem"]
assert dep["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz" and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
os.makedirs(os.path.join(work, "policies"))
for doc in yaml.safe_load_all(open("configmap.yaml")):
    for key, text in doc["data"].items():
        target = os.path.join(work, key) if doc["metadata"]["name"] == "llm-gateway-config" else os.path.join(work, "policies", key)
        open(target, "w").write(text)
PY
promtool check rules "$WORK/rules.yml" >/dev/null
"$GATEWAY_BIN" check-policies "$WORK/policies" >/dev/null
env -i PATH="$PATH" ANTHROPIC_API_KEY=sk-check GATEWAY__QUOTA__REDIS_URL=redis://redis:6379/0 \
  GATEWAY_REDACTION_KEY="$(printf '%064d' 0)" \
  GATEWAY__QUOTA__POLICIES_DIR="$WORK/policies" GATEWAY__QUOTA__PRICES_FILE="$ROOT/config/prices.toml" \
  "$GATEWAY_BIN" check-config --config "$WORK/gateway.toml" >/dev/null
echo "kubernetes kit checks passed"
