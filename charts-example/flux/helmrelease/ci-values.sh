#!/usr/bin/env bash
# Flux HelmRelease flow, run in CI (Flux's helm-controller runs no post-renderer program):
# fill a values file with keyseed and write it as one Secret, SOPS-encrypted to the cluster's
# age key, that the HelmRelease reads through `valuesFrom` (helmrelease.yaml). Flux's
# kustomize-controller decrypts it (flux-kustomization.yaml). The encryption is deterministic:
# re-running on unchanged input writes the same bytes (no commit); plaintext never touches disk.
#
#   FLUX_AGE_RECIPIENT=age1… charts-example/flux/helmrelease/ci-values.sh \
#     charts-example/values/values.keyseed.yaml lightrun-values lightrun deploy/lightrun
#
# Needs: keyseed on PATH; the keyseed identity in KEYSEED_AGE_KEY (a CI secret).
set -euo pipefail
values=${1:?usage: ci-values.sh VALUES-FILE SECRET-NAME NAMESPACE OUTPUT-DIR}
name=${2:?usage: ci-values.sh VALUES-FILE SECRET-NAME NAMESPACE OUTPUT-DIR}
namespace=${3:?usage: ci-values.sh VALUES-FILE SECRET-NAME NAMESPACE OUTPUT-DIR}
out=${4:?usage: ci-values.sh VALUES-FILE SECRET-NAME NAMESPACE OUTPUT-DIR}
recipient=${FLUX_AGE_RECIPIENT:?set FLUX_AGE_RECIPIENT to the cluster age public key}
mkdir -p "$out"
keyseed fill "$values" --secret "$name" --namespace "$namespace" --sops-age "$recipient" \
  > "$out/$name.sops.yaml.tmp"
mv "$out/$name.sops.yaml.tmp" "$out/$name.sops.yaml"
