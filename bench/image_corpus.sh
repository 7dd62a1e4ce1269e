#!/usr/bin/env bash
# Builds the image corpus of issue 8's distillation benchmarks from photographs shipped in
# Debian packages, deterministically: the same package versions (and the same Pillow and
# libjpeg) give byte-identical files.
#
# Where the photos come from (Debian bookworm; every file listed below was looked at, and
# only real photographs are taken: the packages also hold drawings and abstract art):
#   lomiri-wallpapers-16.04      13 photos (Ubuntu 16.04 wallpaper contest), 1365x1074 to 5312x2988
#   mate-backgrounds             12 photos under /usr/share/backgrounds/mate/nature, 1280x1024 to 2560x1920
#   plasma-workspace-wallpapers  11 photos, 2560x1600 (one of them grayscale)
#   python3-skimage               9 sample photos of scikit-image's data/ (astronaut, chelsea, coffee,
#                                 camera, coins, ...), 384x303 to 1411x1411, two grayscale
# (gnome-backgrounds 43 and desktop-base hold illustrations, not photos; libjpeg-turbo-progs
# ships no test images.) The packages are fetched with `apt-get download` into DIR/.debs and
# only the listed files are extracted (dpkg-deb), so nothing is installed and no package's
# dependencies come along; the .debs stay there for the next run.
#
# What it writes into DIR (default bench/corpus/, git-ignored):
#   small/*.jpg   the paper's workload: JPEG photos of about 10 KB (quality 75, 4:2:0, baseline,
#                 no metadata). From each source a 4:3 (or 3:4) crop of the whole picture and one
#                 of a detail (half its size), each scaled down (Lanczos) to the size whose JPEG
#                 comes closest to 10,240 bytes (widths in steps of 8, 160 to 640, never upscaled).
#   large/*.jpg   about 150 KB each (quality 75): the whole picture of the 20 largest-resolution
#                 sources (taken in turn from each package), scaled to come closest to 153,600 bytes.
#   manifest.tsv  set, file (relative to DIR), bytes, width, height, quality, source; '#' lines
#                 name the package versions and the encoder.
# Needs /usr/bin/python3 with PIL (python3-pil; installed with apt-get if missing).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/image_corpus.sh [--help] [DIR]

Builds the JPEG corpus of the image-distillation benchmarks into DIR (default bench/corpus):
DIR/small (~10 KB photos, the paper's workload), DIR/large (~150 KB photos), DIR/manifest.tsv.
Photos come from Debian packages (fetched with apt-get download, not installed).

Environment (defaults):
  PACKAGES="lomiri-wallpapers-16.04 mate-backgrounds plasma-workspace-wallpapers python3-skimage"
                      which source packages to use (fewer: a smaller corpus)
  SMALL_BYTES=10240   target size of the small set
  LARGE_BYTES=153600  target size of the large set
  LARGE_COUNT=20      images in the large set
  QUALITY=75          JPEG quality of the corpus files
EOF
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
if [[ $# -gt 1 ]]; then usage >&2; exit 2; fi

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-$REPO/bench/corpus}"
PACKAGES="${PACKAGES:-lomiri-wallpapers-16.04 mate-backgrounds plasma-workspace-wallpapers python3-skimage}"
export SMALL_BYTES="${SMALL_BYTES:-10240}" LARGE_BYTES="${LARGE_BYTES:-153600}"
export LARGE_COUNT="${LARGE_COUNT:-20}" QUALITY="${QUALITY:-75}"
PY=/usr/bin/python3  # Debian's, where python3-pil installs (a pyenv python3 may come first on PATH)
log() { echo "[$(date +%H:%M:%S)] image_corpus: $*" >&2; }

# package  path in the package  short name (the corpus file names start with it)
SOURCES="
lomiri-wallpapers-16.04 usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg lom-bridge
lomiri-wallpapers-16.04 usr/share/backgrounds/Dragonfly_by_Bolly.jpg lom-dragonfly
lomiri-wallpapers-16.04 usr/share/backgrounds/Picture_0B_by_freespace.jpg lom-fig
lomiri-wallpapers-16.04 usr/share/backgrounds/Picture_1A_by_freespace.jpg lom-brushes
lomiri-wallpapers-16.04 usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg lom-wine
lomiri-wallpapers-16.04 usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg lom-aitzgorri
lomiri-wallpapers-16.04 usr/share/backgrounds/free_by_Peter_Nerlich.jpg lom-free
lomiri-wallpapers-16.04 usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg lom-friends
lomiri-wallpapers-16.04 usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg lom-greentock
lomiri-wallpapers-16.04 usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg lom-life
lomiri-wallpapers-16.04 usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg lom-picos
lomiri-wallpapers-16.04 usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg lom-seeding
lomiri-wallpapers-16.04 usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg lom-sunset
mate-backgrounds usr/share/backgrounds/mate/nature/Aqua.jpg mate-aqua
mate-backgrounds usr/share/backgrounds/mate/nature/Blinds.jpg mate-blinds
mate-backgrounds usr/share/backgrounds/mate/nature/Dune.jpg mate-dune
mate-backgrounds usr/share/backgrounds/mate/nature/FreshFlower.jpg mate-freshflower
mate-backgrounds usr/share/backgrounds/mate/nature/Garden.jpg mate-garden
mate-backgrounds usr/share/backgrounds/mate/nature/GreenMeadow.jpg mate-greenmeadow
mate-backgrounds usr/share/backgrounds/mate/nature/LadyBird.jpg mate-ladybird
mate-backgrounds usr/share/backgrounds/mate/nature/RainDrops.jpg mate-raindrops
mate-backgrounds usr/share/backgrounds/mate/nature/Storm.jpg mate-storm
mate-backgrounds usr/share/backgrounds/mate/nature/TwoWings.jpg mate-twowings
mate-backgrounds usr/share/backgrounds/mate/nature/Wood.jpg mate-wood
mate-backgrounds usr/share/backgrounds/mate/nature/YellowFlower.jpg mate-yellowflower
plasma-workspace-wallpapers usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg kde-bythewater
plasma-workspace-wallpapers usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg kde-coldripple
plasma-workspace-wallpapers usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg kde-colorfulcups
plasma-workspace-wallpapers usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg kde-darkesthour
plasma-workspace-wallpapers usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg kde-eveningglow
plasma-workspace-wallpapers usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg kde-fallenleaf
plasma-workspace-wallpapers usr/share/wallpapers/Grey/contents/images/2560x1600.jpg kde-grey
plasma-workspace-wallpapers usr/share/wallpapers/Kite/contents/images/2560x1600.jpg kde-kite
plasma-workspace-wallpapers usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg kde-onestandsout
plasma-workspace-wallpapers usr/share/wallpapers/Path/contents/images/2560x1600.jpg kde-path
plasma-workspace-wallpapers usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg kde-summer1am
python3-skimage usr/lib/python3/dist-packages/skimage/data/astronaut.png ski-astronaut
python3-skimage usr/lib/python3/dist-packages/skimage/data/camera.png ski-camera
python3-skimage usr/lib/python3/dist-packages/skimage/data/chelsea.png ski-chelsea
python3-skimage usr/lib/python3/dist-packages/skimage/data/coffee.png ski-coffee
python3-skimage usr/lib/python3/dist-packages/skimage/data/coins.png ski-coins
python3-skimage usr/lib/python3/dist-packages/skimage/data/hubble_deep_field.jpg ski-hubble
python3-skimage usr/lib/python3/dist-packages/skimage/data/motorcycle_left.png ski-motorcycle
python3-skimage usr/lib/python3/dist-packages/skimage/data/retina.jpg ski-retina
python3-skimage usr/lib/python3/dist-packages/skimage/data/rocket.jpg ski-rocket
"

if ! "$PY" -c 'import PIL' 2>/dev/null; then
  log "installing python3-pil"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pil >/dev/null
fi

mkdir -p "$DIR/.debs" "$DIR/.src"
VERSIONS=""
updated=0
for pkg in $PACKAGES; do
  ver="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2}')"
  if [[ -z "$ver" || "$ver" == "(none)" ]] && ((!updated)); then
    apt-get update -qq; updated=1
    ver="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2}')"
  fi
  [[ -n "$ver" && "$ver" != "(none)" ]] || { echo "image_corpus: no Debian package $pkg" >&2; exit 1; }
  deb="$(ls "$DIR/.debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)"
  have="$( [[ -n "$deb" ]] && dpkg-deb -f "$deb" Version || true)"
  if [[ "$have" != "$ver" ]]; then
    rm -f "$DIR/.debs/${pkg}_"*.deb
    log "apt-get download $pkg=$ver"
    (cd "$DIR/.debs" && timeout 600 apt-get download -q "$pkg=$ver" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    deb="$(ls "$DIR/.debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)"
    [[ -n "$deb" ]] || { echo "image_corpus: apt-get download $pkg failed" >&2; exit 1; }
  fi
  members=($(awk -v p="$pkg" '$1==p{print "./" $2}' <<<"$SOURCES"))
  rm -rf "$DIR/.src/$pkg"; mkdir -p "$DIR/.src/$pkg"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$DIR/.src/$pkg" "${members[@]}"
  VERSIONS+="$pkg=$ver "
done

LIST="$DIR/.src/sources.txt"
: >"$LIST"
while read -r pkg path name; do
  [[ -n "$pkg" && " $PACKAGES " == *" $pkg "* ]] || continue
  echo -e "$pkg\t$DIR/.src/$pkg/$path\t$name" >>"$LIST"
done <<<"$SOURCES"

rm -rf "$DIR/small" "$DIR/large"
export PACKAGE_VERSIONS="${VERSIONS% }"
"$PY" "$REPO/bench/image_corpus.py" "$LIST" "$DIR"
log "corpus in $DIR: $(ls "$DIR/small" | wc -l) small, $(ls "$DIR/large" | wc -l) large; manifest $DIR/manifest.tsv"
