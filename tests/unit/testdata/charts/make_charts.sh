#!/usr/bin/env bash
# Regenerates the chart fixtures of artifact_additions_test.cc with helm 3
# (HELM=path/to/helm; tests/e2e/tools.sh's ensure_helm fetches one):
#   berth-demo-0.3.0.tgz   apiVersion v2, `helm create` output plus a README.md
#                          and a vendored dependency declared in Chart.yaml
#   berth-legacy-1.0.0.tgz apiVersion v1, its dependency in requirements.yaml,
#                          a lower-case readme.md
# Usage: HELM=... make_charts.sh [OUTDIR]   (default: this directory)
set -euo pipefail
HELM=${HELM:-helm}
out=$(cd "${1:-$(dirname "$0")}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_CONFIG_HOME=$work/config HELM_CACHE_HOME=$work/cache HELM_DATA_HOME=$work/data
cd "$work"

# The dependency both charts vendor under charts/.
mkdir berth-sub
cat > berth-sub/Chart.yaml <<'Y'
apiVersion: v2
name: berth-sub
version: 0.1.0
Y
echo 'replicas: 1' > berth-sub/values.yaml
"$HELM" package berth-sub -d sub >/dev/null

"$HELM" create berth-demo >/dev/null
sed -i 's/^version:.*/version: 0.3.0/' berth-demo/Chart.yaml
cat >> berth-demo/Chart.yaml <<'Y'
dependencies:
  - name: berth-sub
    version: "0.1.x"
    repository: "file://../berth-sub"
    condition: sub.enabled
    tags: [backend, storage]
    alias: store
    import-values:
      - child: exports.data
        parent: data
Y
printf '# berth-demo\n\nA chart for Berth'"'"'s addition tests.\n' > berth-demo/README.md
mkdir -p berth-demo/charts && cp sub/berth-sub-0.1.0.tgz berth-demo/charts/
"$HELM" package berth-demo -d "$out" >/dev/null

mkdir -p berth-legacy/charts
cat > berth-legacy/Chart.yaml <<'Y'
apiVersion: v1
name: berth-legacy
version: 1.0.0
description: An apiVersion v1 chart
Y
cat > berth-legacy/requirements.yaml <<'Y'
dependencies:
  - name: berth-sub
    version: 0.1.0
    repository: https://charts.example.com/stable
    enabled: true
Y
echo 'legacy: true' > berth-legacy/values.yaml
echo 'legacy readme' > berth-legacy/readme.md
cp sub/berth-sub-0.1.0.tgz berth-legacy/charts/
"$HELM" package berth-legacy -d "$out" >/dev/null
ls -l "$out"/*.tgz
