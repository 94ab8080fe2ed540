#!/usr/bin/env bash
# What security costs: one Reader streaming the same plan from three servers over one catalog —
# plaintext, TLS, and mutual TLS with a bearer token — in alternating runs on the same machine.
# Prints tokens/s of each and the ratios to plaintext for every repeat, and their min-max.
# usage: bench/security_bench.sh [MAX_CORPUS_BYTES] [REPEATS] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-60000000}
REPEATS=${2:-5}
WORK=${3:-$(mktemp -d /tmp/shardstream-secbench-XXXXXX)}
BIN=build/cli/shardstream
T=tests/data/gpt2/tokenizer.json
if [ ! -d "$WORK/db" ]; then
  /usr/bin/python3 tools/make_sample_corpus.py "$WORK/corpus" --max-bytes "$BYTES" \
    --shard-bytes 1000000 > /dev/null
  "$BIN" index --db "$WORK/db" --corpus "$WORK/corpus" --jobs "$(nproc)" > /dev/null
  "$BIN" tokenize --db "$WORK/db" --tokenizer "$T" --name gpt2 --jobs "$(nproc)" > /dev/null
fi
# Certificates and a token, as docs/security.md makes them.
P="$WORK/pki"
mkdir -p "$P"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$P/ca.key" -out "$P/ca.crt" -days 1 -subj /CN=ca 2> /dev/null
openssl req "${ec[@]}" -keyout "$P/tls.key" -out "$P/s.csr" -subj /CN=s \
  -addext subjectAltName=IP:127.0.0.1 2> /dev/null
openssl x509 -req -in "$P/s.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 1 \
  -copy_extensions copy -out "$P/tls.crt" 2> /dev/null
openssl req "${ec[@]}" -keyout "$P/c.key" -out "$P/c.csr" -subj /CN=c 2> /dev/null
openssl x509 -req -in "$P/c.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 1 \
  -out "$P/c.crt" 2> /dev/null
head -c 32 /dev/urandom | base64 > "$P/token"
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true' EXIT
serve() {  # NAME FLAGS...
  local name=$1; shift
  "$BIN" serve --db "$WORK/db" --listen 127.0.0.1:0 "$@" 2> "$WORK/$name.log" &
  pids+=($!)
}
serve plain
serve tls --tls-cert "$P/tls.crt" --tls-key "$P/tls.key"
serve mtls --tls-cert "$P/tls.crt" --tls-key "$P/tls.key" --tls-client-ca "$P/ca.crt" \
  --auth-token-file "$P/token"
declare -A addr
for name in plain tls mtls; do
  until grep -q "listening on" "$WORK/$name.log"; do sleep 0.1; done
  addr[$name]=$(grep -o "127.0.0.1:[0-9]*" "$WORK/$name.log" | head -1)
done
args=(gpt2 --seq-len 1024 --batch-size 8 --batches 3000)
declare -A flags=([plain]="" [tls]="--tls-ca $P/ca.crt"
                  [mtls]="--tls-ca $P/ca.crt --tls-cert $P/c.crt --tls-key $P/c.key --token-file $P/token")
rate() {  # tokens/s of one Reader run against server NAME
  # shellcheck disable=SC2086
  build/bench/reader_throughput "${addr[$1]}" "${args[@]}" ${flags[$1]} |
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
           printf "%.0f\n", f["tokens"] / f["seconds"] }'
}
for name in plain tls mtls; do rate "$name" > /dev/null; done  # warm the page and block caches
tls_ratios=()
mtls_ratios=()
for r in $(seq "$REPEATS"); do
  plain=$(rate plain); tls=$(rate tls); mtls=$(rate mtls)
  t=$(awk -v a="$tls" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')
  m=$(awk -v a="$mtls" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')
  tls_ratios+=("$t")
  mtls_ratios+=("$m")
  printf "repeat %d: plaintext %.1f, TLS %.1f, mTLS+token %.1f M tokens/s: TLS/plain %s, mTLS+token/plain %s\n" \
    "$r" "$(awk -v x="$plain" 'BEGIN{print x/1e6}')" "$(awk -v x="$tls" 'BEGIN{print x/1e6}')" \
    "$(awk -v x="$mtls" 'BEGIN{print x/1e6}')" "$t" "$m"
done
minmax() { printf "%s\n" "$@" | sort -n | sed -n '1p;$p' | paste -sd-; }
printf "TLS/plaintext min-max over %d repeats: %s; mTLS+token/plaintext: %s\n" "$REPEATS" \
  "$(minmax "${tls_ratios[@]}")" "$(minmax "${mtls_ratios[@]}")"
