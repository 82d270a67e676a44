#!/usr/bin/env bash
# Batched generation, OlmoeSharp against llama.cpp (LLamaSharp's build), same machine, same protocol
# (samples/OlmoeSharp.Cli/ConcurrencyProtocol.cs): `olmoe bench --concurrency` and the baseline's `concurrency`, 1 to
# 16 streams of 128-token prompts and 64 greedy tokens on 2 threads, then a newcomer's first token with 8 others
# decoding. Given a checkpoint folder, OlmoeSharp runs its safetensors and llama.cpp the GGUF export beside it
# (FOLDER.gguf, made if missing); given a GGUF file, both run that file. As in side-by-side.sh, each engine runs with
# its own file read into the page cache just before and the other engine's evicted (the full-size pair does not fit
# in RAM together). The JSON lines are appended to benchmarks/results/<date>-concurrency-<simd>.log.
#   usage: [DOTNET_EnableAVX512=0] benchmarks/concurrency-side-by-side.sh [GGUF_OR_CHECKPOINT]   (default models/olmoe-random-bf16)
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1:-models/olmoe-random-bf16}
dotnet build -c Release samples/OlmoeSharp.Cli -v q -nologo > /dev/null
dotnet build -c Release benchmarks/OlmoeSharp.LlamaCppBaseline -v q -nologo > /dev/null
olmoe="dotnet samples/OlmoeSharp.Cli/bin/Release/net10.0/olmoe.dll"
llama="benchmarks/OlmoeSharp.LlamaCppBaseline/bin/Release/net10.0/OlmoeSharp.LlamaCppBaseline"
if [ -d "$input" ]; then
  gguf=${input%/}.gguf
  [ -f "$gguf" ] || $llama export-gguf --model "$input" --out "$gguf"
  ours=("$input"/*.safetensors)
else
  [ -f "$input" ] || { echo "no checkpoint folder or GGUF file at $input" >&2; exit 1; }
  gguf=$input
  ours=("$input")
fi

evict() { for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done; }
reload() { evict "$@"; cat "$@" > /dev/null; }
args=(--concurrency 1,2,4,8,16 --threads 2 --prompt-tokens 128 --gen-tokens 64 --json)

machine="machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; DOTNET_EnableAVX512=${DOTNET_EnableAVX512:-1}; $input"
[ "$gguf" = "$input" ] || evict "$gguf"
reload "${ours[@]}"
olmoe_json=$($olmoe bench --model "$input" "${args[@]}" 2>/dev/null | tail -1)
[ "$gguf" = "$input" ] || evict "${ours[@]}"
reload "$gguf"
llama_json=$($llama concurrency --gguf "$gguf" "${args[@]}" 2>/dev/null | tail -1)

# The log is named after the CPU class .NET ran with, as the JSON reports it.
simd=$(grep -o '"simd":"[a-z0-9]*"' <<< "$olmoe_json" | cut -d'"' -f4)
log=benchmarks/results/$(date -u +%F)-concurrency-${simd:-unknown}.log
printf '%s\nolmoesharp concurrency: %s\nllama.cpp concurrency:  %s\n' "$machine" "$olmoe_json" "$llama_json" | tee -a "$log"
