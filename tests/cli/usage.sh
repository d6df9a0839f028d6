# Every tool: --help on stdout with exit 0 and a usage line naming the tool; --version; a bad option gives
# usage on stderr and exit 2; every long option it accepts is documented in its man page and completions.
source "$(dirname "$0")/lib.sh" "$@"
check_tool() {  # check_tool NAME [SUBCOMMAND]
  local tool=$1 sub=${2:-} page=$1
  expect_status 0 $tool $sub --help
  grep -q "^usage: $tool${sub:+ $sub}" out || fail "$tool $sub --help lacks a usage line"
  [ ! -s err ] || fail "$tool $sub --help wrote to stderr"
  expect_status 2 $tool $sub --no-such-option
  grep -q "usage: $tool" err || fail "$tool $sub: bad option without usage on stderr"
  [ ! -s out ] || fail "$tool $sub: bad option wrote to stdout"
  for opt in $($tool $sub --dump-options); do
    grep -qF -- "\\-\\-${opt#--}" "$SRC/man/$page.1" || grep -qF -- "$opt" "$SRC/man/$page.1" || fail "$opt of $tool $sub missing from man/$page.1"
    grep -qF -- "$opt" "$SRC/completions/dcar.bash" || fail "$opt of $tool $sub missing from completions/dcar.bash"
    grep -qF -- "$opt" "$SRC/completions/_dcar" || fail "$opt of $tool $sub missing from completions/_dcar"
  done
}
# dcar-embed, dcar-tune and dcar-weigh exist only in builds with the model library (LibTorch); dcar-world
# wherever libvips is found.
tools="dcar-cat dcar-mine-negatives dcar-query dcar-score"
for tool in dcar-embed dcar-tune dcar-weigh dcar-world; do [ -e "$TOOLS/$tool" ] && tools="$tools $tool"; done
for tool in $tools; do
  check_tool $tool
  expect_status 0 $tool --version
  grep -q "^$tool [0-9]" out || fail "$tool --version"
done
for sub in build add merge info; do check_tool dcar-index $sub; done
expect_status 2 dcar-index
expect_status 2 dcar-index frobnicate
[ "$(head -1 err)" = "dcar-index: unknown command 'frobnicate'" ] || fail "unknown subcommand message: $(head -1 err)"
# The model tools share one declaration and one check of their runtime and token-weight options: the same
# bad values get the same usage error (2) naming the option, in each tool, before any file is read.
for tool in dcar-embed dcar-tune dcar-weigh; do
  [ -e "$TOOLS/$tool" ] || continue
  for bad in "--dtype int8|--dtype is fp32, bf16 or fp16" "--device gpu|--device is cpu, cuda, cuda:N or auto" \
             "--batch 0|--batch must be between 1 and 65536" "--decode-threads 400|--decode-threads must be between 1 and 256" \
             "--vision-heads -1|--vision-heads and --text-heads must not be negative" "--arch ViT-Q-99|ViT-Q-99"; do
    IFS='|' read -r option message <<<"$bad"
    # shellcheck disable=SC2086
    expect_status 2 $tool -m missing.pt -o x $option
    grep -qF -- "$message" err || fail "$tool $option: $(cat err)"
  done
  [ $tool = dcar-embed ] && continue
  for bad in "--w-min 0|token weights need 0 < --w-min <= 1 <= --w-max" "--ema 2|--ema must be between 0 and 1" \
             "--blank grey|--blank is mean, white, black or noise"; do
    IFS='|' read -r option message <<<"$bad"
    # shellcheck disable=SC2086
    expect_status 2 $tool -m missing.pt -o x $option
    grep -qF -- "$message" err || fail "$tool $option: $(cat err)"
  done
done
expect_status 2 dcar-embed -m missing.pt --dtype auto
expect_status 2 dcar-weigh -m missing.pt -o x --dtype auto
# The torch-free tools must not load LibTorch (start-up cost): check their shared libraries.
for tool in dcar-cat dcar-index dcar-mine-negatives dcar-query dcar-score dcar-world; do
  [ -e "$TOOLS/$tool" ] || continue
  if ldd "$TOOLS/$tool" | grep -qiE 'libtorch|libc10'; then fail "$tool links LibTorch"; fi
done
# dcar-embed links no training code (lib/train: the objective, the optimiser, dcar-tune's and dcar-weigh's runs);
# dcar-tune shows what such code looks like in a symbol table, so the check can fail.
if [ -e "$TOOLS/dcar-embed" ] && command -v nm >/dev/null; then
  training='dcar::train::(run_tune|run_weigh|contrastive_loss|category_loss|Optimizer::)'
  [ "$(nm -C "$TOOLS/dcar-tune" | grep -cE "$training")" -gt 0 ] || fail "no training symbols in dcar-tune: the check is blind"
  if nm -C "$TOOLS/dcar-embed" | grep -qE "$training"; then fail "dcar-embed links training code"; fi
fi
echo "usage: ok"
