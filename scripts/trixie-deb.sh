#!/usr/bin/env bash
# Packages of Debian 13 (trixie) for an architecture this Debian 12 machine
# does not have (riscv64), fetched without touching apt's configuration: no
# foreign architecture, no trixie in the sources.
#
#   scripts/trixie-deb.sh [--arch A] NAME              path of NAME's .deb
#   scripts/trixie-deb.sh [--arch A] --field NAME FIELD  a field of NAME's
#                                                      index entry (Version,
#                                                      Depends, ...)
#   scripts/trixie-deb.sh --refresh ...                fetch the index anew
#
# A is riscv64 unless given. The chain of trust is apt's: the suite's
# InRelease must carry a good signature from a key of debian-archive-keyring
# (checked with gpgv), the Packages index must have the SHA256 that InRelease
# gives, and every .deb the SHA256 that the index gives; a file that fails a
# check is deleted, never used.
#
# Caches, outside the clone so a fresh clone on the same machine (CI) does
# not download again:
#   ~/.cache/keel/trixie/ARCH/{InRelease,Packages}  the index, kept until a
#       package is missing from it or its .deb is gone from the mirror (a
#       trixie point release), or until --refresh / KEEL_TRIXIE_REFRESH=1;
#   ~/.cache/keel/debs/trixie/NAME_VERSION_ARCH.deb  the packages; an older
#       version of a package is deleted when a newer one is downloaded.
# ($KEEL_DOWNLOADS moves the debs folder as in scripts/fetch-guests.sh, and
# $KEEL_DEBIAN_MIRROR the mirror, http://deb.debian.org/debian by default.)
#
# Sourced instead of run, it defines trixie_deb, trixie_field and
# trixie_refresh (functions that return non-zero, with a reason on stderr,
# instead of exiting).
set -euo pipefail

TRIXIE_MIRROR="${KEEL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
TRIXIE_SUITE=trixie
TRIXIE_KEYRING="${KEEL_TRIXIE_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
_tx_cache="${XDG_CACHE_HOME:-$HOME/.cache}/keel"
TRIXIE_INDEX_DIR="$_tx_cache/trixie"
TRIXIE_DEB_DIR="${KEEL_DOWNLOADS:-$_tx_cache/debs}/trixie"
TRIXIE_ARCH="${TRIXIE_ARCH:-riscv64}"

_tx_err() { echo "[trixie] error: $*" >&2; return 1; }
_tx_say() { echo "[trixie] $*" >&2; }

# _tx_get URL FILE: download URL to FILE (curl, else wget, else python3).
_tx_get() {
    local url="$1" out="$2"
    rm -f "$out"
    if command -v curl >/dev/null; then
        curl -fsSL --retry 3 --connect-timeout 20 -o "$out" "$url"
    elif command -v wget >/dev/null; then
        wget -q --tries=3 --timeout=20 -O "$out" "$url"
    elif command -v python3 >/dev/null; then
        python3 - "$url" "$out" <<'EOF'
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f)
EOF
    else
        _tx_err "no curl, wget or python3 to download with"
    fi || { rm -f "$out"; return 1; }
}

# _tx_with_lock CMD...: run CMD holding the cache lock, so two runs at once
# (two clones' CI, two work trees) do not write the same file together.
_tx_with_lock() {
    [ -z "${_TX_LOCKED:-}" ] || { "$@"; return; }
    mkdir -p "$TRIXIE_INDEX_DIR" || return 1
    (
        exec 9>"$TRIXIE_INDEX_DIR/.lock"
        flock 9
        export _TX_LOCKED=1
        "$@"
    )
}

# The index is fetched at most once per run (a run: the process that sourced
# or ran this file, and its children): when it is older than the run.
: "${_TX_START:=$(date +%s)}"
export _TX_START
_tx_fresh() {
    local f="$TRIXIE_INDEX_DIR/$TRIXIE_ARCH/Packages"
    [ -s "$f" ] && [ "$(stat -c %Y "$f")" -ge "$_TX_START" ]
}

# _tx_fetch_index: the signed InRelease, then the Packages index it vouches
# for, into $TRIXIE_INDEX_DIR/$TRIXIE_ARCH (replacing what was there only
# once both are checked).
_tx_fetch_index() {
    local dir="$TRIXIE_INDEX_DIR/$TRIXIE_ARCH" tmp ext dec want got
    local base="$TRIXIE_MIRROR/dists/$TRIXIE_SUITE"
    command -v gpgv >/dev/null || _tx_err "gpgv not found (apt-get install gpgv)" || return 1
    [ -r "$TRIXIE_KEYRING" ] || _tx_err "no keyring $TRIXIE_KEYRING (apt-get install debian-archive-keyring)" || return 1
    mkdir -p "$dir" || return 1
    tmp="$(mktemp -d "$dir/.fetch.XXXXXX")" || return 1
    _tx_say "fetching the $TRIXIE_SUITE $TRIXIE_ARCH package index from $TRIXIE_MIRROR"
    if ! _tx_get "$base/InRelease" "$tmp/InRelease.signed"; then
        rm -rf "$tmp"; _tx_err "cannot download $base/InRelease"; return 1
    fi
    # Only what gpgv vouches for is read further (--output: the signed text).
    if ! gpgv --quiet --keyring "$TRIXIE_KEYRING" --output "$tmp/InRelease" \
            "$tmp/InRelease.signed" 2>"$tmp/gpgv.log"; then
        cat "$tmp/gpgv.log" >&2
        rm -rf "$tmp"; _tx_err "$base/InRelease: bad or unknown signature (keyring $TRIXIE_KEYRING)"; return 1
    fi
    if ! grep -qx "Codename: $TRIXIE_SUITE" "$tmp/InRelease"; then
        rm -rf "$tmp"; _tx_err "$base/InRelease is not $TRIXIE_SUITE's"; return 1
    fi
    if command -v xz >/dev/null; then ext=xz dec="xz -dc"; else ext=gz dec="gzip -dc"; fi
    local rel="main/binary-$TRIXIE_ARCH/Packages.$ext"
    want="$(awk -v f="$rel" '/^SHA256:/ {s=1; next} /^[^ ]/ {s=0} s && $3 == f {print $1}' "$tmp/InRelease")"
    if [ -z "$want" ]; then
        rm -rf "$tmp"; _tx_err "InRelease lists no $rel (is $TRIXIE_ARCH a $TRIXIE_SUITE architecture?)"; return 1
    fi
    if ! _tx_get "$base/$rel" "$tmp/Packages.$ext"; then
        rm -rf "$tmp"; _tx_err "cannot download $base/$rel"; return 1
    fi
    got="$(sha256sum "$tmp/Packages.$ext" | cut -d' ' -f1)"
    if [ "$got" != "$want" ]; then
        rm -rf "$tmp"; _tx_err "$rel: SHA256 $got, InRelease says $want"; return 1
    fi
    if ! $dec "$tmp/Packages.$ext" > "$tmp/Packages"; then
        rm -rf "$tmp"; _tx_err "cannot decompress $rel"; return 1
    fi
    mv "$tmp/InRelease" "$dir/InRelease.tmp" && mv "$tmp/Packages" "$dir/Packages.tmp" &&
        mv "$dir/Packages.tmp" "$dir/Packages" && mv "$dir/InRelease.tmp" "$dir/InRelease" || {
        rm -rf "$tmp"; _tx_err "cannot write $dir"; return 1; }
    rm -rf "$tmp"
    _tx_say "index: $(grep -m1 '^Version:' "$dir/InRelease" | cut -d' ' -f2) of $(grep -m1 '^Date:' "$dir/InRelease" | cut -d' ' -f2-)," \
        "$(grep -c '^Package:' "$dir/Packages") packages"
}

_tx_have_index() { [ -s "$TRIXIE_INDEX_DIR/$TRIXIE_ARCH/Packages" ] && [ -s "$TRIXIE_INDEX_DIR/$TRIXIE_ARCH/InRelease" ]; }

# _tx_entry NAME: NAME's stanza in the cached index (empty if none).
_tx_entry() {
    awk -v n="$1" 'BEGIN {RS=""} {
        if (match($0, /(^|\n)Package: [^\n]*/)) {
            p = substr($0, RSTART, RLENGTH); sub(/^\n?Package: /, "", p)
            if (p == n) { print; exit }
        } }' "$TRIXIE_INDEX_DIR/$TRIXIE_ARCH/Packages"
}

# _tx_field_of STANZA FIELD: one field's value (continuation lines joined).
_tx_field_of() {
    printf '%s\n' "$1" | awk -v f="$2:" '
        $1 == f { on = 1; sub(/^[^:]*: */, ""); v = $0; next }
        on && /^[ \t]/ { sub(/^[ \t]+/, " "); v = v $0; next }
        { on = 0 }
        END { print v }'
}

# _tx_lookup NAME: NAME's stanza, fetching the index if there is none, if
# NAME is not in it, or if a refresh was asked for (once per run).
_tx_lookup() {
    local e=""
    if { [ "${KEEL_TRIXIE_REFRESH:-}" = 1 ] || ! _tx_have_index; } && ! _tx_fresh; then
        _tx_with_lock _tx_fetch_index || return 1
    fi
    e="$(_tx_entry "$1")"
    if [ -z "$e" ] && ! _tx_fresh; then
        _tx_say "$1 not in the cached index; fetching it anew"
        _tx_with_lock _tx_fetch_index || return 1
        e="$(_tx_entry "$1")"
    fi
    [ -n "$e" ] || _tx_err "no package $1 for $TRIXIE_ARCH in $TRIXIE_SUITE" || return 1
    printf '%s\n' "$e"
}

# trixie_field NAME FIELD
trixie_field() {
    local e
    e="$(_tx_lookup "$1")" || return 1
    _tx_field_of "$e" "$2"
}

# _tx_deb_locked NAME: NAME's .deb in $TRIXIE_DEB_DIR, checked; prints its path.
_tx_deb_locked() {
    local name="$1" e file sha size out got
    for _ in 1 2; do
        e="$(_tx_lookup "$name")" || return 1
        file="$(_tx_field_of "$e" Filename)"
        sha="$(_tx_field_of "$e" SHA256)"
        size="$(_tx_field_of "$e" Size)"
        [ -n "$file" ] && [ -n "$sha" ] || _tx_err "index entry of $name has no Filename/SHA256" || return 1
        out="$TRIXIE_DEB_DIR/${file##*/}"
        if [ -f "$out" ]; then
            got="$(sha256sum "$out" | cut -d' ' -f1)"
            [ "$got" = "$sha" ] && { printf '%s\n' "$out"; return 0; }
            _tx_say "$(basename "$out"): cached copy has SHA256 $got, index says $sha; downloading again"
            rm -f "$out"
        fi
        mkdir -p "$TRIXIE_DEB_DIR" || return 1
        _tx_say "downloading ${file##*/} ($(numfmt --to=iec --suffix=B "${size:-0}" 2>/dev/null || echo "${size:-?} bytes"))"
        if _tx_get "$TRIXIE_MIRROR/$file" "$out.part"; then
            got="$(sha256sum "$out.part" | cut -d' ' -f1)"
            if [ "$got" != "$sha" ]; then
                rm -f "$out.part"
                _tx_err "${file##*/}: SHA256 $got, the index says $sha"; return 1
            fi
            mv "$out.part" "$out" || return 1
            # Older versions of the same package and architecture go.
            local old
            for old in "$TRIXIE_DEB_DIR/${name}"_*_"$TRIXIE_ARCH".deb; do
                [ -e "$old" ] && [ "$old" != "$out" ] && rm -f "$old" && _tx_say "removed the older $(basename "$old")"
            done
            printf '%s\n' "$out"
            return 0
        fi
        # Gone from the mirror: the cached index predates a point release.
        ! _tx_fresh || break
        _tx_say "cannot download $file; the cached index may be out of date, fetching it anew"
        _tx_fetch_index || return 1
    done
    _tx_err "cannot download $TRIXIE_MIRROR/$file"
}

# trixie_deb NAME: path of NAME's checked .deb, downloading it if needed.
trixie_deb() { _tx_with_lock _tx_deb_locked "$1"; }

# trixie_refresh: fetch the index anew (unless this run already did).
trixie_refresh() { _tx_fresh || _tx_with_lock _tx_fetch_index; }

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    usage() { sed -n '5,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
    field=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --arch) [ $# -ge 2 ] || usage; TRIXIE_ARCH="$2"; shift 2 ;;
            --arch=*) TRIXIE_ARCH="${1#--arch=}"; shift ;;
            --refresh) KEEL_TRIXIE_REFRESH=1; shift ;;
            --field) field=1; shift ;;
            -h|--help) usage ;;
            -*) usage ;;
            *) break ;;
        esac
    done
    if [ -n "$field" ]; then
        [ $# -eq 2 ] || usage
        trixie_field "$1" "$2" || exit 1
    else
        [ $# -eq 1 ] || usage
        trixie_deb "$1" || exit 1
    fi
fi
