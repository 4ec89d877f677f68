#!/usr/bin/env bash
# Fetch the browser assets that folium maps need and unpack them into app/static/vendor/.
#
# Why: offline (workshops, the landfill settlement's poor connection, CI) a folium map that loads
# Leaflet, jQuery, Bootstrap, Font Awesome and plugins from CDNs renders as an EMPTY frame in
# streamlit-folium.  geo.maps.vendor_assets() points folium at the files this script unpacks.
#
# The result is committed: CI and the app never run this script.  Run it again only to change a
# version, then commit the diff of app/static/vendor/ (and update geo/maps/assets.py if paths change).
#
# Needs: npm (talks only to the npm registry), tar, sed, awk, sha512sum/base64 (coreutils).
# Usage: scripts/vendor_assets.sh            # rebuild app/static/vendor from pinned packages
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/app/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Pinned package versions; each tarball is checked against its registry integrity below.
PACKAGES=(
  "leaflet@1.9.3"
  "jquery@3.7.1"
  "bootstrap@5.2.2"
  "bootstrap@3.4.1"
  "@fortawesome/fontawesome-free@6.2.0"
  "leaflet.awesome-markers@2.0.5"
  "leaflet-draw@1.0.2"
  "leaflet.fullscreen@3.0.0"
  "leaflet-measure@2.1.7"
  "leaflet.markercluster@1.5.3"
)
# Expected integrity per package (filled from `npm view <pkg>@<ver> dist.integrity`).
declare -A INTEGRITY=(
  ["leaflet@1.9.3"]="sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/uSIzhZgGMfQ=="
  ["jquery@3.7.1"]="sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg=="
  ["bootstrap@5.2.2"]="sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ=="
  ["bootstrap@3.4.1"]="sha512-yN5oZVmRCwe5aKwzRj6736nSmKDX7pLYwsXiCj/EYmo16hODaBiT4En5btW/jhBF/seV+XMx3aYwukYC3A49DA=="
  ["@fortawesome/fontawesome-free@6.2.0"]="sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ=="
  ["leaflet.awesome-markers@2.0.5"]="sha512-Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1jZIQA=="
  ["leaflet-draw@1.0.2"]="sha512-iCcbXE9okhwznoTXjxVjoGFoKeiWGsgmWPKrPAeHUvtWZWK4t6YF6815D13wZoMxX2UM6tOmD7/VofCxx3S0+w=="
  ["leaflet.fullscreen@3.0.0"]="sha512-81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ=="
  ["leaflet-measure@2.1.7"]="sha512-IvoHIoVTIQSXUgaNnAMF17qXFB+dF5ICdwmY8BHyq/Hh33/xeGqQUUYlz0pRMzFN9NUcjsT6JBhCr1ia0CG5ug=="
  ["leaflet.markercluster@1.5.3"]="sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA=="
)

log() { printf '%s\n' "$*" >&2; }

fetch() { # fetch PKG@VER -> prints the unpacked package dir
  local spec="$1" tgz dir want got
  want="${INTEGRITY[$spec]}"
  tgz="$(cd "$WORK" && npm pack "$spec" --silent 2>/dev/null | tail -n 1)"
  got="sha512-$(sha512sum "$WORK/$tgz" | cut -d' ' -f1 | xxd -r -p | base64 -w0)"
  if [[ "$want" != "$got" ]]; then
    log "integrity mismatch for $spec: expected $want, got $got"
    exit 1
  fi
  dir="$WORK/${tgz%.tgz}"
  mkdir -p "$dir"
  tar --warning=no-unknown-keyword -xzf "$WORK/$tgz" -C "$dir"
  printf '%s\n' "$dir/package"
}

put() { # put SRC DEST_RELATIVE
  mkdir -p "$(dirname "$DEST/$2")"
  cp "$1" "$DEST/$2"
}

strip_sourcemap() { # drop "sourceMappingURL" comments: we do not ship maps
  sed -i -E '/^\/[*\/]# sourceMappingURL=.*$/d; s#/[*/]\# sourceMappingURL=[^ *]*( \*/)?##' "$1"
}

rm -rf "$DEST"
mkdir -p "$DEST"

# --- Leaflet (BSD-2-Clause) ------------------------------------------------------------------
p="$(fetch leaflet@1.9.3)"
put "$p/dist/leaflet.js" leaflet/leaflet.js
put "$p/dist/leaflet.css" leaflet/leaflet.css
for f in layers.png layers-2x.png marker-icon.png marker-icon-2x.png marker-shadow.png; do
  put "$p/dist/images/$f" "leaflet/images/$f"
done
put "$p/LICENSE" leaflet/LICENSE
strip_sourcemap "$DEST/leaflet/leaflet.js"

# --- jQuery (MIT) ----------------------------------------------------------------------------
p="$(fetch jquery@3.7.1)"
put "$p/dist/jquery.min.js" jquery/jquery.min.js
put "$p/LICENSE.txt" jquery/LICENSE.txt

# --- Bootstrap 5 (MIT) -----------------------------------------------------------------------
p="$(fetch bootstrap@5.2.2)"
put "$p/dist/js/bootstrap.bundle.min.js" bootstrap/bootstrap.bundle.min.js
put "$p/dist/css/bootstrap.min.css" bootstrap/bootstrap.min.css
put "$p/LICENSE" bootstrap/LICENSE
strip_sourcemap "$DEST/bootstrap/bootstrap.bundle.min.js"
strip_sourcemap "$DEST/bootstrap/bootstrap.min.css"

# --- Glyphicons from Bootstrap 3 (MIT): only the @font-face and .glyphicon rules -------------
p="$(fetch bootstrap@3.4.1)"
{
  echo '/* Glyphicons Halflings rules extracted from Bootstrap v3.4.1 (MIT, see LICENSE). */'
  echo '@font-face {'
  echo '  font-family: "Glyphicons Halflings";'
  echo '  src: url("fonts/glyphicons-halflings-regular.woff2") format("woff2"),'
  echo '    url("fonts/glyphicons-halflings-regular.woff") format("woff");'
  echo '}'
  awk '/^\.glyphicon \{/{on=1} on{print} on && /^\.glyphicon-menu-up:before/{last=1} last && /^\}/{exit}' \
    "$p/dist/css/bootstrap.css"
} >"$WORK/glyph.css"
put "$WORK/glyph.css" glyphicons/bootstrap-glyphicons.css
put "$p/dist/fonts/glyphicons-halflings-regular.woff2" glyphicons/fonts/glyphicons-halflings-regular.woff2
put "$p/dist/fonts/glyphicons-halflings-regular.woff" glyphicons/fonts/glyphicons-halflings-regular.woff
put "$p/LICENSE" glyphicons/LICENSE

# --- Font Awesome Free 6 (code MIT, fonts OFL-1.1, icons CC-BY-4.0) ---------------------------
p="$(fetch @fortawesome/fontawesome-free@6.2.0)"
put "$p/css/all.min.css" fontawesome/css/all.min.css
# Every browser we support reads woff2; drop the .ttf fallbacks so we need not ship them.
sed -i -E 's#,url\(\.\./webfonts/[a-z0-9-]+\.ttf\) format\("truetype"\)##g' \
  "$DEST/fontawesome/css/all.min.css"
for f in fa-brands-400 fa-regular-400 fa-solid-900 fa-v4compatibility; do
  put "$p/webfonts/$f.woff2" "fontawesome/webfonts/$f.woff2"
done
put "$p/LICENSE.txt" fontawesome/LICENSE.txt

# --- Leaflet.awesome-markers (MIT) -----------------------------------------------------------
p="$(fetch leaflet.awesome-markers@2.0.5)"
put "$p/dist/leaflet.awesome-markers.min.js" awesome-markers/leaflet.awesome-markers.min.js
put "$p/dist/leaflet.awesome-markers.css" awesome-markers/leaflet.awesome-markers.css
for f in markers-soft.png markers-soft@2x.png markers-shadow.png markers-shadow@2x.png; do
  put "$p/dist/images/$f" "awesome-markers/images/$f"
done
put "$p/LICENSE" awesome-markers/LICENSE

# --- folium's leaflet.awesome.rotate css: written here, it is a handful of rules --------------
{
  echo '/* Rotation classes used by folium.Icon(angle=...). Generated by scripts/vendor_assets.sh. */'
  for a in $(seq 0 359); do
    printf '.fa-rotate-%d{-webkit-transform:rotate(%ddeg);transform:rotate(%ddeg)}\n' "$a" "$a" "$a"
  done
} >"$WORK/rotate.css"
put "$WORK/rotate.css" folium/leaflet.awesome.rotate.min.css

# --- Leaflet.draw (MIT) ----------------------------------------------------------------------
p="$(fetch leaflet-draw@1.0.2)"
put "$p/dist/leaflet.draw.js" leaflet-draw/leaflet.draw.js
put "$p/dist/leaflet.draw.css" leaflet-draw/leaflet.draw.css
for f in spritesheet.png spritesheet-2x.png spritesheet.svg; do
  put "$p/dist/images/$f" "leaflet-draw/images/$f"
done
strip_sourcemap "$DEST/leaflet-draw/leaflet.draw.js"

# --- leaflet.fullscreen (MIT) ----------------------------------------------------------------
p="$(fetch leaflet.fullscreen@3.0.0)"
put "$p/Control.FullScreen.js" leaflet-fullscreen/Control.FullScreen.js
put "$p/Control.FullScreen.css" leaflet-fullscreen/Control.FullScreen.css
put "$p/icon-fullscreen.svg" leaflet-fullscreen/icon-fullscreen.svg
put "$p/LICENSE" leaflet-fullscreen/LICENSE

# --- leaflet-measure (MIT) -------------------------------------------------------------------
p="$(fetch leaflet-measure@2.1.7)"
put "$p/dist/leaflet-measure.min.js" leaflet-measure/leaflet-measure.min.js
put "$p/dist/leaflet-measure.css" leaflet-measure/leaflet-measure.css
for f in "$p"/dist/images/*.png; do
  put "$f" "leaflet-measure/images/$(basename "$f")"
done
put "$p/LICENSE" leaflet-measure/LICENSE

# --- Leaflet.markercluster (MIT): points grouped into counted clusters -----------------------
p="$(fetch leaflet.markercluster@1.5.3)"
put "$p/dist/leaflet.markercluster.js" markercluster/leaflet.markercluster.js
put "$p/dist/MarkerCluster.css" markercluster/MarkerCluster.css
put "$p/dist/MarkerCluster.Default.css" markercluster/MarkerCluster.Default.css
put "$p/MIT-LICENCE.txt" markercluster/LICENSE
strip_sourcemap "$DEST/markercluster/leaflet.markercluster.js"

# --- Licence summary -------------------------------------------------------------------------
cat >"$DEST/LICENSES.md" <<'EOF'
# Vendored browser assets

Unpacked by `scripts/vendor_assets.sh` from the npm registry (pinned versions and tarball
integrity hashes are in that script) so that maps work with no internet connection.  Served by
Streamlit at `/app/static/vendor/...` (run with `--server.enableStaticServing true`).
Do not edit by hand: change the script and run it again.

| Folder | Package | Version | Licence | Files kept |
| --- | --- | --- | --- | --- |
| `leaflet/` | leaflet | 1.9.3 | BSD-2-Clause (`leaflet/LICENSE`) | `leaflet.js`, `leaflet.css`, `images/*.png` |
| `jquery/` | jquery | 3.7.1 | MIT (`jquery/LICENSE.txt`) | `jquery.min.js` |
| `bootstrap/` | bootstrap | 5.2.2 | MIT (`bootstrap/LICENSE`) | `bootstrap.bundle.min.js`, `bootstrap.min.css` |
| `glyphicons/` | bootstrap | 3.4.1 | MIT (`glyphicons/LICENSE`); the Glyphicons Halflings font is included in Bootstrap under its MIT licence | `bootstrap-glyphicons.css` (the `.glyphicon` rules extracted from `dist/css/bootstrap.css`, woff2/woff only), `fonts/*.woff2`, `fonts/*.woff` |
| `fontawesome/` | @fortawesome/fontawesome-free | 6.2.0 | Code MIT, fonts SIL OFL 1.1, icons CC BY 4.0 (`fontawesome/LICENSE.txt`) | `css/all.min.css` (`.ttf` fallbacks removed from `@font-face`), `webfonts/*.woff2` |
| `awesome-markers/` | leaflet.awesome-markers | 2.0.5 | MIT (`awesome-markers/LICENSE`; npm metadata says ISC) | `leaflet.awesome-markers.min.js`, `.css`, `images/markers-soft*.png`, `images/markers-shadow*.png` |
| `folium/` | (written by the script) | — | MIT, as folium (equivalent of folium's `leaflet.awesome.rotate.min.css`) | `leaflet.awesome.rotate.min.css` |
| `leaflet-draw/` | leaflet-draw | 1.0.2 | MIT (per its `package.json`; the npm tarball ships no licence file; © 2012–2017 Jon West, Jacob Toye, and Leaflet) | `leaflet.draw.js`, `leaflet.draw.css`, `images/spritesheet*` |
| `leaflet-fullscreen/` | leaflet.fullscreen | 3.0.0 | MIT (`leaflet-fullscreen/LICENSE`) | `Control.FullScreen.js`, `Control.FullScreen.css`, `icon-fullscreen.svg` |
| `leaflet-measure/` | leaflet-measure | 2.1.7 | MIT (`leaflet-measure/LICENSE`) | `leaflet-measure.min.js`, `leaflet-measure.css`, `images/*.png` |
| `markercluster/` | leaflet.markercluster | 1.5.3 | MIT (`markercluster/LICENSE`) | `leaflet.markercluster.js`, `MarkerCluster.css`, `MarkerCluster.Default.css` |

`sourceMappingURL` comments are removed because source maps are not shipped.
EOF

log "vendored into $DEST:"
(cd "$DEST" && find . -type f | sort | xargs du -b | awk '{s+=$1; print} END {print s, "bytes total"}') >&2
