#!/usr/bin/env bash
# Make a stand-in for the Dockerfile's base image where no registry is reachable: Debian bookworm
# (debootstrap, from Debian's own mirror) with Python 3.11 and venv, tagged with the base image's name.
#   tests/docker/base_image.sh python:3.11-slim-bookworm
set -euo pipefail
tag="${1:-python:3.11-slim-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "base image $tag is there"
    exit 0
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
echo "building a stand-in for $tag with debootstrap (a few minutes, once per machine)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$mirror" >/dev/null
ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$tag" >/dev/null
echo "base image $tag made"
