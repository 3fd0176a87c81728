#!/bin/sh
# Generates the package's derived files into STAGE_DIR from the built binaries:
# the rockon(1) man page (and compresses rockond(8) and rockond.toml(5)), bash and zsh completions (both from the CLI's hidden
# generate-man / generate-completion commands) and the Debian changelog.
#
#   packaging/stage.sh BIN_DIR STAGE_DIR VERSION
set -eu

bin=$1 stage=$2 version=$3
rm -rf "$stage"
mkdir -p "$stage"

# gzip -n: no name or time stamp in the header, so builds are reproducible.
"$bin/rockon" generate-man >"$stage/rockon.1"
gzip -n -9 "$stage/rockon.1"
# The daemon's and the configuration's pages are written by hand.
here=$(dirname "$0")
gzip -n -9 <"$here/man/rockond.8" >"$stage/rockond.8.gz"
gzip -n -9 <"$here/man/rockond.toml.5" >"$stage/rockond.toml.5.gz"
"$bin/rockon" generate-completion bash >"$stage/rockon.bash"
"$bin/rockon" generate-completion zsh >"$stage/_rockon"

# A native package's changelog (/usr/share/doc/rockon/changelog.gz), one
# entry for this build, dated by its commit so rebuilding gives the same file.
date=$(git log -1 --format=%cD 2>/dev/null || date -R -u -d @0)
maintainer=${MAINTAINER:-rockon developers <rockon@example.org>}
{
	printf 'rockon (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Packaged from the rockon sources at version %s.\n\n' "$version"
	printf ' -- %s  %s\n' "$maintainer" "$date"
} >"$stage/changelog"
gzip -n -9 "$stage/changelog"
