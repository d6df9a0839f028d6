# What dcar-embed promises on the CPU (man dcar-embed, DETERMINISM): an item's embedding bytes depend on the
# item, the model and the options that change the numbers (dtype, prompts, token weights), and on nothing else:
# not the batch size, the thread counts, list or folder input, the input order, a shard or a resumed part.
# Checked in fp32 and bf16, and under three OpenBLAS set-ups, since the kernels OpenBLAS picks decide how a
# batched product would round: the environment as it is, OPENBLAS_CORETYPE unset, and (where the CPU has AVX2)
# the Haswell kernels with a 512 KiB L2, the settings of the machine where batch-dependent bytes first showed.
source "$(dirname "$0")/lib.sh" "$@"
[ -x "$TOOLS/dcar-embed" ] || { echo "determinism: skipped (dcar-embed not built)"; exit 0; }
/usr/bin/python3 -c "import torch, PIL" 2>/dev/null || { echo "determinism: skipped (no python3-torch/PIL)"; exit 0; }
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny.safetensors
/usr/bin/python3 - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(11)
for i in range(13):
    w, h = int(rng.integers(30, 200)), int(rng.integers(30, 200))
    a = np.clip(rng.integers(0, 255, 3) + rng.normal(0, 50, (h, w, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(a).save(f"img{i:02d}.{'jpg' if i % 3 else 'png'}")
words = "a photo of the small red striped bird with two long wings sitting on grey rock near water".split()
with open("captions.txt", "w") as f:
    for i in range(17):
        f.write(f"c{i}\t{' '.join(rng.choice(words, int(rng.integers(1, 30))))}\n")
PY
ls img* > files.txt
# rows: the stream's records as sorted TSV (ids and exact float text: dcar-cat prints floats so they read back equal)
rows() { dcar-cat "$1" | sort; }

# check_setup LABEL DTYPE...: every way of running gives the bytes of the reference run, for images and captions.
check_setup() {
  local label=$1 dtype; shift
  for dtype in "$@"; do
    local m=(-q -m tiny.safetensors --dtype "$dtype")
    dcar-embed "${m[@]}" --folder . -o ref.dcs
    dcar-embed "${m[@]}" --threads 1 -b 1 --image-root . -o b1.dcs files.txt
    dcar-embed "${m[@]}" --threads 2 -b 5 --decode-threads 3 --image-root . -o b5.dcs files.txt
    sort -r files.txt | dcar-embed "${m[@]}" -b 4 --image-root . -o reversed.dcs
    for s in 0 1; do dcar-embed "${m[@]}" -b 3 --folder . --shard $s/2 -o shard$s.dcs; done
    rm -rf parts && dcar-embed "${m[@]}" -b 2 --folder . --resume --part-size 4 -o parts
    [ "$(dcar-cat -c ref.dcs)" = 13 ] || fail "$label $dtype: expected 13 images"
    for run in b1 b5 reversed; do
      cmp -s <(rows ref.dcs) <(rows $run.dcs) || fail "$label $dtype: image embeddings of run '$run' differ from the reference run"
    done
    cmp -s <(rows ref.dcs) <(cat shard0.dcs shard1.dcs | dcar-cat | sort) || fail "$label $dtype: shards differ from one run"
    cmp -s <(rows ref.dcs) <(cat parts/*.dcs | dcar-cat | sort) || fail "$label $dtype: resumed parts differ from one run"

    dcar-embed "${m[@]}" --text -o tref.dcs captions.txt
    dcar-embed "${m[@]}" --text --threads 1 -b 1 -o t1.dcs captions.txt
    sort -r captions.txt | dcar-embed "${m[@]}" --text --threads 2 -b 6 -o t6.dcs
    for run in t1 t6; do
      cmp -s <(rows tref.dcs) <(rows $run.dcs) || fail "$label $dtype: caption embeddings of run '$run' differ from the reference run"
    done
  done
  echo "determinism: $label: $* bytes equal across batch sizes, threads, order, shards and parts"
}

# bf16 products do not go through OpenBLAS, so one set-up is enough for them.
check_setup "environment (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})" fp32 bf16
(unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; check_setup "OPENBLAS_CORETYPE unset" fp32)
if grep -qw avx2 /proc/cpuinfo; then
  (export OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512; check_setup "OPENBLAS_CORETYPE=Haswell, L2 512" fp32)
else
  echo "determinism: Haswell kernels not checked (no AVX2 on this CPU)"
fi
echo "determinism: ok"
