#!/bin/sh
# Installs the Argo CD CMP sidecar's files from release tarballs into ROOT (/ in the image).
# The Containerfile runs it; the test suite runs it outside a container build.
#   install-sidecar.sh KEYSEED_TARBALL HELM_TARBALL CMP_PLUGIN_YAML ROOT
# KEYSEED_TARBALL: dist/keyseed-VERSION-linux-ARCH.tar.gz (scripts/package)
# HELM_TARBALL:    helm-vX.Y.Z-linux-ARCH.tar.gz as Helm releases it (linux-ARCH/helm inside)
set -eu
keyseed_tgz=$1 helm_tgz=$2 plugin_yaml=$3 root=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/keyseed" "$tmp/helm" "$root/usr/local/bin" "$root/home/argocd/cmp-server/config"
tar -xzf "$keyseed_tgz" -C "$tmp/keyseed"
tar -xzf "$helm_tgz" -C "$tmp/helm"
install -m 0755 "$tmp/keyseed/helm/bin/keyseed-bin" "$root/usr/local/bin/keyseed"
install -m 0755 "$(find "$tmp/helm" -type f -name helm | head -n 1)" "$root/usr/local/bin/helm"
install -m 0644 "$plugin_yaml" "$root/home/argocd/cmp-server/config/plugin.yaml"
# The sidecar runs as user 999 (argocd); hand it its home when we may.
if [ "$(id -u)" = 0 ] && [ "$root" = / ]; then chown -R 999:999 /home/argocd; fi
"$root/usr/local/bin/keyseed" --version
