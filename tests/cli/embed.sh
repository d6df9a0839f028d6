# dcar-embed end to end on a tiny CLIP (real vocabulary size) written by Debian's python3-torch: a folder of
# images with broken ones among them (skipped, reported, exit 3; fatal with --on-error fail), embeddings equal
# to PyTorch + torchvision's CLIP transform on the same weights, captions, shards, --resume after a lost part
# and refused with other inputs or options,
# and output independent of the decode thread count (every other way of running: determinism.sh).
source "$(dirname "$0")/lib.sh" "$@"
[ -x "$TOOLS/dcar-embed" ] || { echo "embed: skipped (dcar-embed not built)"; exit 0; }
/usr/bin/python3 -c "import torch, torchvision, PIL" 2>/dev/null || { echo "embed: skipped (no python3-torch/torchvision)"; exit 0; }
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny.safetensors
mkdir -p imgs/cat imgs/dog
/usr/bin/python3 - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(3)
for cls, base in (("cat", (200, 80, 40)), ("dog", (40, 90, 200))):
    for i in range(4):
        w, h = int(rng.integers(40, 300)), int(rng.integers(40, 300))
        a = np.clip(np.array(base) + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(a).save(f"imgs/{cls}/{i}.{'jpg' if i % 2 else 'png'}")
Image.fromarray(np.full((50, 60), 128, np.uint8)).save("imgs/dog/grey.png")
PY
head -c 300 imgs/cat/1.jpg > imgs/cat/truncated.jpg
: > imgs/dog/empty.png
echo "not an image" > imgs/dog/text.jpg

expect_status 3 dcar-embed -m tiny.safetensors --folder imgs --rejects rej.tsv -o all.dcs
[ "$(dcar-cat -c all.dcs)" = 9 ] || fail "expected 9 embedded images"
[ "$(wc -l < rej.tsv)" = 3 ] || fail "expected 3 rejects: $(cat rej.tsv)"
for bad in cat/truncated.jpg dog/empty.png dog/text.jpg; do
  grep -q "^$bad	" rej.tsv || fail "$bad not in the rejects file"
  grep -q "skipped $bad: " err || fail "$bad not reported on stderr"
done
dcar-cat -H all.dcs | grep -q '"modality": "image"' || fail "modality"
dcar-cat -H all.dcs | grep -q '"model": "clip-' || fail "model fingerprint missing from the header"
[ "$(dcar-cat --ids-only all.dcs | head -1)" = "cat/0.png	cat" ] || fail "ids/labels: $(dcar-cat --ids-only all.dcs | head -1)"
# --stats: the run's figures as JSON, skipped items counted by reason.
expect_status 3 dcar-embed -q -m tiny.safetensors --folder imgs --stats stats.json -o /dev/null
/usr/bin/python3 - <<'PY' || fail "stats: $(cat stats.json)"
import json
s = json.load(open("stats.json"))
assert (s["scope"], s["shard"], s["items"], s["embedded"], s["skipped"]) == ("run", "0/1", 12, 9, 3), s
assert sum(s["skipped_by_reason"].values()) == 3 and set(s["skipped_by_reason"]) <= {"cannot decode", "cannot open"}, s
assert s["device"] == "cpu" and s["dtype"] == "fp32" and s["model"].startswith("clip-") and s["seconds"] > 0, s
assert s["items_per_second"] > 0, s
PY
expect_status 1 dcar-embed -m tiny.safetensors --folder imgs --on-error fail -o fail.dcs
[ ! -e fail.dcs ] || fail "a failed run left its output"

# Same numbers as PyTorch: torchvision's transform + the same weights (cosine ≥ 0.999 per image).
dcar-cat --ids-only all.dcs | cut -f1 | sed 's|^|imgs/|' > files.txt
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" embed tiny.safetensors ref.npy $(cat files.txt)
dcar-cat --format npy -o ours.npy all.dcs
/usr/bin/python3 -c "
import numpy as np
a, b = np.load('ours.npy'), np.load('ref.npy')
cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
print('embed: min cosine vs PyTorch', cos.min())
assert cos.min() >= 0.999, cos
"

# What the weights do not show (activation, heads): the same weights without dcar's metadata are refused, saying
# what to pass; --arch openai reads them as the metadata does (the same rows and fingerprint), a preset they contradict is
# refused, and GELU is another model with another fingerprint.
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model bare.safetensors bare
expect_status 1 dcar-embed -m bare.safetensors --folder imgs -o bare.dcs
grep -q "bare.safetensors: cannot tell the model's architecture: .* Pass --arch" err || fail "no architecture: $(cat err)"
[ ! -e bare.dcs ] || fail "a refused model left an output"
expect_status 3 dcar-embed -m bare.safetensors --arch openai --folder imgs -o bare.dcs
cmp <(dcar-cat bare.dcs) <(dcar-cat all.dcs) || fail "--arch openai embeds other than the file's own architecture"
[ "$(dcar-cat -H bare.dcs | grep '"model"')" = "$(dcar-cat -H all.dcs | grep '"model"')" ] || fail "--arch openai changed the fingerprint"
expect_status 1 dcar-embed -m bare.safetensors --arch ViT-B-32-quickgelu --folder imgs -o preset.dcs
grep -q "bare.safetensors: --arch ViT-B-32-quickgelu says embedding width 512, the weights have" err || fail "preset: $(cat err)"
expect_status 2 dcar-embed -m bare.safetensors --arch ViT-Z-1 --folder imgs -o preset.dcs
grep -q "unknown architecture 'ViT-Z-1'" err || fail "unknown preset: $(cat err)"
expect_status 3 dcar-embed -m bare.safetensors --arch activation=gelu,vision-heads=3,text-heads=2 --folder imgs -o gelu.dcs
[ "$(dcar-cat -H gelu.dcs | grep '"model"')" != "$(dcar-cat -H all.dcs | grep '"model"')" ] || fail "GELU kept the fingerprint"
cmp -s <(dcar-cat gelu.dcs | cut -f3) <(dcar-cat all.dcs | cut -f3) && fail "GELU gave the same embeddings"

# Image paths on stdin; decode threads do not change the output; shards partition the work.
sed 's|^imgs/||' files.txt | dcar-embed -q -m tiny.safetensors --image-root imgs --decode-threads 3 -b 2 > list.dcs
cmp <(dcar-cat all.dcs | cut -f1,3) <(dcar-cat list.dcs | cut -f1,3) || fail "list input or decode threads changed the embeddings"
for i in 0 1 2; do dcar-embed -q -m tiny.safetensors --folder imgs --shard $i/3 -o shard$i.dcs 2>/dev/null || true; done
[ "$(cat shard0.dcs shard1.dcs shard2.dcs | dcar-cat -c)" = 9 ] || fail "shards do not add up"
cmp <(cat shard0.dcs shard1.dcs shard2.dcs | dcar-cat | sort) <(dcar-cat all.dcs | sort) || fail "shards differ from one run"
# --shard auto takes the shard from a Slurm array task (an array that starts at 5 here) or an srun step.
for id in 5 6 7; do
  env SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_MAX=7 \
    dcar-embed -m tiny.safetensors --folder imgs --shard auto -o auto$id.dcs 2>auto$id.err || true
  cmp <(dcar-cat auto$id.dcs) <(dcar-cat shard$((id - 5)).dcs) || fail "array task $id is not shard $((id - 5))/3"
  grep -q "Slurm array task $id (5-7): shard $((id - 5))/3" auto$id.err || fail "no shard line: $(cat auto$id.err)"
done
env SLURM_STEP_NUM_TASKS=3 SLURM_PROCID=2 dcar-embed -q -m tiny.safetensors --folder imgs --shard auto -o step.dcs 2>/dev/null || true
cmp <(dcar-cat step.dcs) <(dcar-cat shard2.dcs) || fail "srun task 2 is not shard 2/3"
expect_status 2 env -u SLURM_ARRAY_TASK_ID -u SLURM_STEP_NUM_TASKS dcar-embed -m tiny.safetensors --folder imgs --shard auto -o none.dcs
grep -q "^dcar-embed: --shard auto: not in a Slurm array task or srun step" err || fail "outside Slurm: $(cat err)"

# --resume: parts with done markers; a lost part is redone, finished ones are not.
expect_status 3 dcar-embed -m tiny.safetensors --folder imgs --resume --part-size 4 -o parts
ls parts/*.done | wc -l | grep -qx 3 || fail "expected 3 done parts"
# Each finished part has its statistics beside its marker.
[ "$(ls parts/*.stats.json | wc -l)" = 3 ] || fail "expected 3 part statistics"
/usr/bin/python3 -c "
import json, glob
parts = [json.load(open(f)) for f in sorted(glob.glob('parts/*.stats.json'))]
assert [p['part'] for p in parts] == [0, 1, 2] and sum(p['items'] for p in parts) == 12, parts
assert sum(p['embedded'] for p in parts) == 9 and sum(p['skipped'] for p in parts) == 3, parts
" || fail "part statistics: $(cat parts/*.stats.json)"
rm parts/part-00000-000001.dcs parts/part-00000-000001.done
expect_status 3 dcar-embed -m tiny.safetensors --folder imgs --resume --part-size 4 -o parts --rejects rej2.tsv
grep -q "8 already done" err || fail "resume did not skip finished parts: $(tail -1 err)"
cmp <(cat parts/*.dcs | dcar-cat) <(dcar-cat all.dcs) || fail "resumed parts differ from one run"
cmp <(sort rej.tsv) <(sort rej2.tsv) || fail "rejects of resumed parts lost"
# A resume with other inputs or options is refused, naming the first difference, and leaves the parts alone
# (a changed part size or shard would drop or repeat items).
/usr/bin/python3 - "$SRC/tests/unit" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import torch, clip_reference as ref
ref.VOCAB, ref.CONTEXT, ref.SOT, ref.EOT = 49408, 77, 49406, 49407
model = ref.TinyClip().eval()
ref.randomise(model)
with torch.no_grad():
    model.visual.proj.mul_(-1)  # other weights, same shapes
ref.write_safetensors("other.safetensors", {k: v.detach() for k, v in model.state_dict().items()},
                      {"dcar.architecture": "activation=quick-gelu,vision-heads=3,text-heads=2"})
PY
before=$(cat parts/*.dcs | md5sum)
resume=(dcar-embed -q --folder imgs --resume -o parts)
for change in "--part-size 5|part_size" "--shard 0/2|shard" "--dtype bf16|dtype" "--store f16|store" "--no-normalize|normalize" \
              "--format npy|format" "--max-pixels 3000|max_pixels" "-m other.safetensors|model"; do
  IFS='|' read -r option key <<< "$change"
  defaults=(-m tiny.safetensors --part-size 4)
  case $option in -m*) defaults=(--part-size 4) ;; --part-size*) defaults=(-m tiny.safetensors) ;; esac
  expect_status 2 "${resume[@]}" "${defaults[@]}" $option
  grep -q "^dcar-embed: parts: was embedded with $key = .*, this run has " err || fail "resume with $option: $(cat err)"
done
cp imgs/cat/0.png imgs/cat/extra.png
expect_status 2 "${resume[@]}" -m tiny.safetensors --part-size 4
grep -q "was embedded with items = 12, this run has 13" err || fail "resume with another input: $(cat err)"
rm imgs/cat/extra.png
[ "$(cat parts/*.dcs | md5sum)" = "$before" ] || fail "a refused resume changed the parts"
mkdir old && cp parts/part-* old/
expect_status 2 dcar-embed -q -m tiny.safetensors --folder imgs --resume --part-size 4 -o old
grep -q "old: holds parts of this shard but no run-00000.json" err || fail "$(cat err)"

# Captions: one per line, or id<TAB>caption; text modality; the same caption gives the same vector.
printf 'a photo of a cat\nc1\ta photo of a dog\n\na photo of a cat\n' | dcar-embed -q -m tiny.safetensors --text > caps.dcs
dcar-cat -H caps.dcs | grep -q '"modality": "text"' || fail "caption modality"
[ "$(dcar-cat --ids-only caps.dcs | cut -f1 | tr '\n' ' ')" = "0 c1 3 " ] || fail "caption ids: $(dcar-cat --ids-only caps.dcs)"
[ "$(dcar-cat caps.dcs | sed -n 1p | cut -f3)" = "$(dcar-cat caps.dcs | sed -n 3p | cut -f3)" ] || fail "same caption, different vectors"
[ "$(dcar-cat caps.dcs | sed -n 1p | cut -f3)" != "$(dcar-cat caps.dcs | sed -n 2p | cut -f3)" ] || fail "different captions, same vector"
# Lines without an id or a caption are reported and listed in --rejects, with their line.
printf 'c1\ta cat\n\tno id here\nc3\t  \n' > badcaps.txt
expect_status 3 dcar-embed -m tiny.safetensors --text --rejects capsrej.tsv -o badcaps.dcs badcaps.txt
[ "$(dcar-cat -c badcaps.dcs)" = 1 ] || fail "one good caption"
[ "$(cat capsrej.tsv)" = "$(printf '\tbadcaps.txt:2\tempty id\nc3\tbadcaps.txt:3\tempty caption')" ] || fail "caption rejects: $(cat capsrej.tsv)"
# --vocab names the vocabulary; a missing one is an error naming it.
printf 'a photo of a cat\n' | dcar-embed -q -m tiny.safetensors --text --vocab "$DCAR_TEST_VOCAB" > v.dcs
# (a caption's bytes do not depend on the batch it came in: tests/cli/determinism.sh)
[ "$(dcar-cat v.dcs | cut -f3)" = "$(dcar-cat caps.dcs | sed -n 1p | cut -f3)" ] || fail "--vocab changed the embedding"
expect_status 1 dcar-embed -m tiny.safetensors --text --vocab no-such-vocab.txt -o x.dcs < /dev/null
grep -q "no-such-vocab.txt" err || fail "missing vocabulary not named: $(cat err)"
# Things that are not files: a device and a FIFO in a list are skipped and reported, never read (no endless
# read of /dev/zero, no wait on a FIFO without a writer); a symlink to an image is followed.
mkfifo fifo
ln -s "$T/imgs/cat/0.png" link.png
printf '%s\n' "$T/imgs/cat/0.png" /dev/zero "$T/fifo" "$T/link.png" > notfiles.txt
expect_status 3 timeout 120 dcar-embed -m tiny.safetensors -o notfiles.dcs notfiles.txt
[ "$(dcar-cat -c notfiles.dcs)" = 2 ] || fail "expected the image and its symlink embedded"
grep -q "skipped /dev/zero: .*not a regular file" err && grep -q "skipped $T/fifo: .*not a regular file" err || fail "$(cat err)"
# Decompression bombs: images above --max-pixels are refused and reported, not decoded.
expect_status 3 dcar-embed -m tiny.safetensors --folder imgs --max-pixels 3000 -o small.dcs
[ "$(dcar-cat -c small.dcs)" = 1 ] || fail "only the 50x60 grey image is under 3000 pixels"
grep -q "skipped cat/0.png: " err || fail "large image not reported"
expect_status 2 dcar-embed -m tiny.safetensors --folder imgs --text
expect_status 1 dcar-embed -m missing.safetensors --folder imgs -o x.dcs
# A file whose name holds a tab or a line break is skipped and reported; the rest of the folder is embedded.
mkdir -p odd && cp imgs/cat/0.png odd/good.png && cp imgs/cat/0.png "odd/new
line.png" && cp imgs/cat/0.png "odd/a	tab.png"
expect_status 3 dcar-embed -m tiny.safetensors --folder odd -o odd.dcs
[ "$(dcar-cat -c odd.dcs)" = 1 ] || fail "the good file of a folder with odd names"
grep -qF 'skipped new\nline.png: ' err && grep -qF 'skipped a\ttab.png: ' err || fail "odd names not reported: $(cat err)"
# An output that is one of the inputs (by file identity) is refused before any work, and the input survives.
cp files.txt list.txt && ln -s list.txt list-link.txt
for out in list.txt ./list.txt list-link.txt tiny.safetensors; do
  expect_status 2 dcar-embed -m tiny.safetensors -o "$out" list.txt
  grep -q "is both an input and the output" err || fail "-o $out over an input: $(cat err)"
done
cmp -s list.txt files.txt || fail "a refused run changed its input"
# Fail fast: the model and the output's place are checked before the inputs are walked.
expect_status 1 dcar-embed -m missing.safetensors --folder no-such-folder -o x.dcs
expect_err_line "missing.safetensors"
expect_status 1 dcar-embed -m tiny.safetensors --folder no-such-folder -o no-such-dir/x.dcs
expect_err_line "no-such-dir/x.dcs: cannot write in no-such-dir"

# Re-embedding only what a run rejected, once the files are fixed: the rejects file's ids are the paths
# relative to the folder, so they are a list for --image-root FOLDER, with the same ids as the first run.
cp -r imgs fixed
cp fixed/cat/1.jpg fixed/cat/truncated.jpg
cut -f1 rej.tsv | expect_status 3 dcar-embed -m tiny.safetensors --image-root fixed --rejects rej2.tsv -o retry.dcs
[ "$(dcar-cat --ids-only retry.dcs | cut -f1)" = cat/truncated.jpg ] || fail "retry embedded: $(dcar-cat --ids-only retry.dcs)"
[ "$(cut -f1 rej2.tsv | sort | tr '\n' ' ')" = "dog/empty.png dog/text.jpg " ] || fail "rejected again: $(cat rej2.tsv)"
[ "$(cat all.dcs retry.dcs | dcar-cat -c)" = 10 ] || fail "the first run and the retry do not make one stream"
echo "embed: ok"
