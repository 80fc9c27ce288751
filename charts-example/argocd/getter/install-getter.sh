#!/bin/sh
# Installs keyseed's Helm getter plugin and helm wrapper for an Argo CD repo-server without a
# sidecar: into DEST, an emptyDir the repo-server mounts at /custom-tools (repo-server-patch.yaml).
# The init container (Containerfile) runs it; the test suite runs it outside a container.
#   install-getter.sh GETTER_TARBALL DEST
# GETTER_TARBALL: dist/keyseed-getter-helm3-VERSION-linux-ARCH.tar.gz for Argo CD's Helm 3, or
#                 dist/keyseed-getter-VERSION-linux-ARCH.tar.gz for an Argo CD built with Helm 4.
# Leaves DEST/helm-plugins/keyseed-getter (HELM_PLUGINS=DEST/helm-plugins) and DEST/helm (the
# wrapper for multi-source `$values/…/*.keyseed.yaml`; PATH=DEST:… puts it first).
set -eu
tgz=$1 dest=$2
rm -rf "$dest/helm-plugins/keyseed-getter"
mkdir -p "$dest/helm-plugins/keyseed-getter"
tar -xzf "$tgz" -C "$dest/helm-plugins/keyseed-getter"
install -m 0755 "$dest/helm-plugins/keyseed-getter/bin/helm-wrapper" "$dest/helm"
"$dest/helm-plugins/keyseed-getter/bin/keyseed" --version
