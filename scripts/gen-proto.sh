#!/usr/bin/env bash
# Regenerates the Swift code for the wire contract in proto/ into Sources/Protocol/Generated/, and for the part of
# SentencePiece's model file that the GGUF export reads into Sources/Engine/GGUF/Generated/.
# Uses the system protoc with a protoc-gen-swift built from swift-protobuf 1.39.0 (the version Package.swift
# resolves), so generated code and runtime always match. The plugin is built once into /tmp and reused.
set -euo pipefail

SWIFT_PROTOBUF_VERSION=1.39.0
SWIFT_PROTOBUF_MIRROR=${SWIFT_PROTOBUF_MIRROR:-/opt/swift-packages/apple/swift-protobuf.git}
PLUGIN_SRC=${PLUGIN_SRC:-/tmp/swift-protobuf}
PLUGIN="$PLUGIN_SRC/.build/release/protoc-gen-swift"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR="$ROOT/Sources/Protocol/Generated"

if [[ ! -x "$PLUGIN" ]]; then
    if [[ ! -d "$PLUGIN_SRC/.git" ]]; then
        git clone -q "$SWIFT_PROTOBUF_MIRROR" "$PLUGIN_SRC"
    fi
    git -C "$PLUGIN_SRC" checkout -q "$SWIFT_PROTOBUF_VERSION"
    (cd "$PLUGIN_SRC" && swift build -c release --product protoc-gen-swift)
fi

mkdir -p "$OUT_DIR"
cd "$ROOT"
protoc \
    --plugin=protoc-gen-swift="$PLUGIN" \
    --swift_out=Visibility=Public:"$OUT_DIR" \
    --proto_path=proto \
    proto/uqcit/v2/messages.proto
echo "generated $(cd "$OUT_DIR" && find . -name '*.pb.swift' | sort | tr '\n' ' ')"

# SentencePiece's model file, read by the Engine when a checkpoint's tokenizer is a tokenizer.model.
SPM_OUT_DIR="$ROOT/Sources/Engine/GGUF/Generated"
mkdir -p "$SPM_OUT_DIR"
protoc \
    --plugin=protoc-gen-swift="$PLUGIN" \
    --swift_out=Visibility=Internal:"$SPM_OUT_DIR" \
    --proto_path=proto \
    proto/sentencepiece/sentencepiece_model.proto
echo "generated $(cd "$SPM_OUT_DIR" && find . -name '*.pb.swift' | sort | tr '\n' ' ')"
