#!/usr/bin/env bash
# Flux flow, run in CI (Flux controllers cannot run keyseed): render the chart, fill its
# Secrets with keyseed, encrypt the Secret data with SOPS to the cluster's age key, and write
# the result for CI to commit to the deploy branch (or `flux push artifact`). Flux's
# kustomize-controller decrypts it with its native SOPS support (cluster/kustomization.yaml).
# Plaintext never touches the disk: it flows through a pipe from keyseed to sops.
#
#   FLUX_AGE_RECIPIENT=age1… charts-example/flux/ci-render.sh charts-example/demo deploy/demo
#
# Needs: helm, keyseed, sops on PATH; the keyseed identity in KEYSEED_AGE_KEY (a CI secret).
set -euo pipefail
chart=${1:?usage: ci-render.sh CHART-DIR OUTPUT-DIR}
out=${2:?usage: ci-render.sh CHART-DIR OUTPUT-DIR}
recipient=${FLUX_AGE_RECIPIENT:?set FLUX_AGE_RECIPIENT to the cluster age public key}
release=${RELEASE:-demo}
namespace=${NAMESPACE:-demo}
mkdir -p "$out"
helm template "$release" "$chart" --namespace "$namespace" \
  | keyseed render --namespace "$namespace" \
  | sops --encrypt --age "$recipient" --encrypted-regex '^(data|stringData)$' \
      --input-type yaml --output-type yaml /dev/stdin > "$out/manifests.sops.yaml.tmp"
mv "$out/manifests.sops.yaml.tmp" "$out/manifests.sops.yaml"
cat > "$out/kustomization.yaml" <<KUST
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $namespace
resources:
  - manifests.sops.yaml
KUST
