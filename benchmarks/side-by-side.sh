#!/usr/bin/env bash
# OlmoeSharp and llama.cpp (LLamaSharp's build) on the same full-size random weights, same machine, same protocol.
# Each engine runs with its own file in the page cache, read back from disk just before (so both are cached the same
# way: 2 MiB folios) and the other engine's file evicted — the two files do not fit in RAM together. OlmoeSharp runs
# twice: weights mapped (bf16 as stored) and packed (--weights packed: 12.5-bit lossless re-encoding at load), and
# says what --weights auto (the default) picks on this machine. The CPU class is the one .NET runs with, and the
# llama.cpp build follows it: on an AVX-512 machine, DOTNET_EnableAVX512=0 runs both engines' AVX2 paths.
# With a quantized type (q8_0, q4_0, q4_k_m, …) both engines run the same GGUF file of that type, quantized from the
# bf16 export by llama.cpp's own quantizer, each run right after the other with that file cached and the bf16 files
# evicted. Decode's ceiling is the streaming read rate (printed before and after each round) over the bytes a token
# reads (decode_weight_gb_s ÷ decode_tok_s in OlmoeSharp's JSON).
# OlmoeSharp runs the file mapped as stored and packed (--weights packed: its Q4_K, Q6_K and Q4_0 matrices re-laid sixteen
# rows at a time at load; other types stay as stored).
#   usage: [DOTNET_EnableAVX512=0] benchmarks/side-by-side.sh [rounds] [bf16|TYPE]   (makes missing files)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
type=${2:-bf16}
model=models/olmoe-random-bf16
gguf=models/olmoe-random-bf16.gguf
dotnet build -c Release samples/OlmoeSharp.Cli -v q -nologo > /dev/null
dotnet build -c Release benchmarks/OlmoeSharp.LlamaCppBaseline -v q -nologo > /dev/null
olmoe="dotnet samples/OlmoeSharp.Cli/bin/Release/net10.0/olmoe.dll"
llama="benchmarks/OlmoeSharp.LlamaCppBaseline/bin/Release/net10.0/OlmoeSharp.LlamaCppBaseline"
[ -f "$model/model.safetensors.index.json" ] || $olmoe make-checkpoint --preset olmoe-1b-7b --shards 3 --seed 7 --out "$model"
[ -f "$gguf" ] || $llama export-gguf --model "$model" --out "$gguf"

# The machine's streaming read rate (both cores), the ceiling decode is bounded by: measured before and after each
# round, since a VM's rate moves with its neighbours.
readrate() { echo "round $1 streaming read ($2): $($llama read-bandwidth --threads 2 --gigabytes 2 --json 2>/dev/null | tail -1)"; }
evict() { for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done; }
reload() { evict "$@"; cat "$@" > /dev/null; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; DOTNET_EnableAVX512=${DOTNET_EnableAVX512:-1}"
if [ "$type" != bf16 ]; then
  quantized=models/olmoe-random-$type.gguf
  [ -f "$quantized" ] || $llama quantize --in "$gguf" --type "$type" --out "$quantized"
  evict "$gguf" "$model"/*.safetensors
  for round in $(seq 1 "$rounds"); do
    reload "$quantized"
    readrate "$round" before
    for weights in mapped packed; do
      echo "round $round olmoesharp $type $weights 128+64: $($olmoe bench --model "$quantized" --weights $weights --no-probe --threads 2 --prompt-tokens 128 --gen-tokens 64 --runs 3 --json 2>/dev/null | tail -1)"
    done
    echo "round $round llama.cpp $type 128+64:  $($llama bench --gguf "$quantized" --threads 2 --prompt-tokens 128 --gen-tokens 64 --runs 3 --json 2>/dev/null | tail -1)"
    readrate "$round" after
  done
  exit 0
fi
for round in $(seq 1 "$rounds"); do
  evict "$gguf"; reload "$model"/*.safetensors
  readrate "$round" before
  echo "round $round olmoesharp auto chooses: $($olmoe generate --model "$model" --tokens 1 --max-new-tokens 1 --greedy 2>&1 >/dev/null | grep '^weights')"
  for weights in mapped packed; do
    probe=$([ "$weights" = packed ] && echo --no-probe || true) # the packed figure even where auto would not pack
    echo "round $round olmoesharp $weights 128+64:  $($olmoe bench --model "$model" --weights $weights $probe --threads 2 --prompt-tokens 128 --gen-tokens 64 --runs 3 --json 2>/dev/null | tail -1)"
    echo "round $round olmoesharp $weights 1024+16: $($olmoe bench --model "$model" --weights $weights $probe --threads 2 --prompt-tokens 1024 --gen-tokens 16 --runs 2 --json 2>/dev/null | tail -1)"
  done
  # The bf16 KV cache halves what attention reads at long contexts (llama.cpp's cache is f16 by default).
  echo "round $round olmoesharp mapped kv-bf16 1024+16: $($olmoe bench --model "$model" --weights mapped --kv-cache bf16 --threads 2 --prompt-tokens 1024 --gen-tokens 16 --runs 2 --json 2>/dev/null | tail -1)"
  evict "$model"/*.safetensors; reload "$gguf"
  echo "round $round llama.cpp 128+64:   $($llama bench --gguf "$gguf" --threads 2 --prompt-tokens 128 --gen-tokens 64 --runs 3 --json 2>/dev/null | tail -1)"
  echo "round $round llama.cpp 1024+16:  $($llama bench --gguf "$gguf" --threads 2 --prompt-tokens 1024 --gen-tokens 16 --runs 2 --json 2>/dev/null | tail -1)"
  readrate "$round" after
done
