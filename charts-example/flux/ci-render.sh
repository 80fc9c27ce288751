#!/usr/bin/env bash
# Flux flow, run in CI (Flux controllers cannot run keyseed): render the chart, fill its
# Secrets with keyseed and write each Secret SOPS-encrypted to the cluster's age key
# (`--sops-age`), for CI to commit to the deploy branch (or `flux push artifact`). Flux's
# kustomize-controller decrypts them with its native SOPS support (cluster/kustomization.yaml).
# The encryption is deterministic: re-running on unchanged input writes the same bytes (no
# commit), and a changed value changes only its Secret. Plaintext never touches the disk.
#
#   FLUX_AGE_RECIPIENT=age1… charts-example/flux/ci-render.sh charts-example/demo deploy/demo
#
# Needs: helm and keyseed on PATH; the keyseed identity in KEYSEED_AGE_KEY (a CI secret).
set -euo pipefail
chart=${1:?usage: ci-render.sh CHART-DIR OUTPUT-DIR}
out=${2:?usage: ci-render.sh CHART-DIR OUTPUT-DIR}
recipient=${FLUX_AGE_RECIPIENT:?set FLUX_AGE_RECIPIENT to the cluster age public key}
release=${RELEASE:-demo}
namespace=${NAMESPACE:-demo}
mkdir -p "$out"
helm template "$release" "$chart" --namespace "$namespace" \
  | keyseed render --namespace "$namespace" --sops-age "$recipient" > "$out/manifests.sops.yaml.tmp"
mv "$out/manifests.sops.yaml.tmp" "$out/manifests.sops.yaml"
cat > "$out/kustomization.yaml" <<KUST
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $namespace
resources:
  - manifests.sops.yaml
KUST
