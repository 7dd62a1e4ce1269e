#!/usr/bin/env bash
# Installs the Debian packages tacc needs to build, test and benchmark.
# Idempotent: skips apt entirely when every package is already installed.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev            # Asio (event loops, coroutines) and Beast (HTTP)
  libprotobuf-dev protobuf-compiler   # cluster message schemas
  libspdlog-dev libfmt-dev    # logging
  libcli11-dev                # command line
  libtomlplusplus-dev         # configuration file
  libssl-dev                  # cluster key: HMAC-SHA256, CSPRNG
  libsqlite3-dev              # embedded profile store (customization database)
  zlib1g-dev libbrotli-dev    # decoding gzip/deflate/br bodies a worker must read
  libjemalloc-dev             # allocator that gives memory back (TACC_ALLOCATOR)
  libjpeg62-turbo-dev         # JPEG distiller (libjpeg-turbo)
  libwebp-dev libavif-dev     # WebP and AVIF output of the image distillers (libavif: aom, rav1e, SVT-AV1 encoders; dav1d)
  libspng-dev libgif-dev      # PNG and GIF distillers (libspng, giflib)
  libgumbo-dev                # HTML munger and keyword filter (an HTML5 tokenizer with source positions)
  libgtest-dev libgmock-dev   # tests
  clang libclang-rt-14-dev    # tests: libFuzzer targets (scripts/fuzz.sh)
  libbpf-dev libelf-dev       # front door dsr mode: the tc-BPF program's loader (libbpf); clang compiles the program
  bpftool                     # front door dsr mode: `bpftool gen skeleton` embeds the compiled program at build time
  libnftables-dev nftables    # front door nat mode: rules programmed through libnftables (nft: to inspect them)
  libnetfilter-conntrack-dev  # front door nat mode: list and restore its connections in conntrack (hot-standby failover)
  iproute2 procps curl iputils-ping  # tests: namespaces (NetnsLab), process checks
  chromium                    # tests: a real browser through the proxy (headless)
  adwaita-icon-theme          # `tacc trace serve`: real drawings (PNG icons) for the corpus pictures
)
BENCH_PKGS=(haproxy nginx-light wrk gnuplot-nox jq libnginx-mod-http-image-filter python3-pil python3-numpy)
if [[ "${1:-}" == "--bench" ]]; then PKGS+=("${BENCH_PKGS[@]}"); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
