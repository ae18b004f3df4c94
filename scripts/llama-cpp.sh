#!/usr/bin/env bash
# Builds the peer we measure GGUF export against: llama.cpp's llama-quantize, llama-perplexity and llama-imatrix,
# and llama-tokenize, which scripts/check_sentencepiece_gguf.py tokenizes with.
# PyPI is the only source host this machine reaches, so the llama.cpp sources come from the
# llama-cpp-python sdist, which vendors them under vendor/llama.cpp. Never run in CI.
# Idempotent: each step (download, extract, configure, build) is skipped when its result exists.
# Usage: scripts/llama-cpp.sh            (LLAMA_CPP_PYTHON_VERSION overrides the sdist version)
set -euo pipefail

VERSION=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
JOBS=${JOBS:-2}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS="$ROOT/out/peers"
SDIST="$PEERS/llama_cpp_python-$VERSION.tar.gz"
SRC="$PEERS/llama_cpp_python-$VERSION/vendor/llama.cpp"
BUILD="$PEERS/build-$VERSION"
BIN="$PEERS/bin"
TARGETS=(llama-quantize llama-perplexity llama-imatrix llama-tokenize)

if [[ -x "$BIN/llama-quantize" && -x "$BIN/llama-perplexity" && -x "$BIN/llama-imatrix" && -x "$BIN/llama-tokenize" && -f "$BIN/VERSION" && $(cat "$BIN/VERSION") == "$VERSION" ]]; then
    echo "llama.cpp tools (llama-cpp-python $VERSION sdist) already built in $BIN"
    exit 0
fi

SUDO=$([[ $(id -u) == 0 ]] || echo sudo)
if ! command -v cmake >/dev/null; then
    echo "installing cmake"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq cmake
fi

mkdir -p "$PEERS"
if [[ ! -f "$SDIST" ]]; then
    echo "downloading the llama-cpp-python $VERSION sdist"
    python3 -m pip download -q --no-deps --no-binary llama-cpp-python -d "$PEERS" "llama-cpp-python==$VERSION"
fi

if [[ ! -f "$SRC/CMakeLists.txt" ]]; then
    echo "extracting vendor/llama.cpp"
    tar -xzf "$SDIST" -C "$PEERS" "llama_cpp_python-$VERSION/vendor/llama.cpp"
fi

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    echo "configuring llama.cpp in $BUILD"
    # Only the tools: no tests, examples or server; static libraries so the binaries stand alone;
    # native CPU code paths because the peer is timed on this machine.
    cmake -S "$SRC" -B "$BUILD" \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF \
        -DGGML_NATIVE=ON \
        -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_BUILD_TOOLS=ON
fi

echo "building ${TARGETS[*]} with -j$JOBS"
cmake --build "$BUILD" --config Release -j "$JOBS" --target "${TARGETS[@]}"

mkdir -p "$BIN"
for target in "${TARGETS[@]}"; do
    cp "$BUILD/bin/$target" "$BIN/$target"
done
echo "$VERSION" > "$BIN/VERSION"
echo "llama.cpp tools (llama-cpp-python $VERSION sdist):"
for target in "${TARGETS[@]}"; do
    echo "  $BIN/$target"
done
