#!/usr/bin/env bash
# Builds the Debian package (`make deb`): the binary for the package, the
# changelog and man page, then nfpm (pinned in tools/go.mod) with
# deploy/debian/nfpm.yaml. Prints the path of the .deb on its last line.
#
#   deploy/debian/build.sh [OUTDIR]     (default: dist)
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
out=${1:-dist}

# Version: the tag (v1.2.3 -> 1.2.3) when HEAD is tagged, else the newest tag
# (or 0.0.0) followed by +git<commit time>.<commit>, which sorts after that tag
# and before the next; a tree with uncommitted changes adds .dirty.
commit=$(git rev-parse --short=12 HEAD)
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
	version=${tag#v}
else
	base=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
	version=${base#v}+git$(TZ=UTC git show -s --date=format-local:%Y%m%d%H%M%S --format=%cd HEAD).$commit
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	version=$version.dirty
fi
arch=$($GO env GOARCH)

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# The package's binary: the Makefile's flags, with the version the package carries.
CGO_ENABLED=0 $GO build -trimpath -buildmode=pie \
	-ldflags "-s -w -X github.com/mailwatchd/mailwatchd/internal/buildinfo.Version=$version -X github.com/mailwatchd/mailwatchd/internal/buildinfo.Revision=$(git rev-parse HEAD)" \
	-o "$build/mailwatchd" ./cmd/mailwatchd

# A native package's changelog: one entry for the commit it is built from.
{
	echo "mailwatchd ($version) unstable; urgency=medium"
	echo
	echo "  * Built from commit $commit:"
	echo "    $(git show -s --format=%s HEAD | cut -c1-72)"
	echo
	echo " -- mailwatchd developers <mailwatchd@example.org>  $(git show -s --format=%cD HEAD)"
} | gzip -9n >"$build/changelog.gz"
gzip -9n <deploy/debian/mailwatchd.8 >"$build/mailwatchd.8.gz"

mkdir -p "$out"
deb="$out/mailwatchd_${version}_${arch}.deb"
# nfpm expands the environment in some fields, not in file sources: the
# build directory is put in by sed.
sed "s#\${DEB_BUILD}#$build#g" deploy/debian/nfpm.yaml >"$build/nfpm.yaml"
# File times and the archive's own come from the commit, so that the same
# commit gives the same package.
SOURCE_DATE_EPOCH=$(git show -s --format=%ct HEAD) DEB_VERSION=$version DEB_ARCH=$arch \
	$GO tool -modfile=tools/go.mod nfpm package --config "$build/nfpm.yaml" --packager deb --target "$deb" >&2
echo "$deb"
