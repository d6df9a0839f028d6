# dcar-tune, dcar-weigh and dcar-embed --prompts end to end on a tiny world: a CLIP trained from scratch with
# --method full (which must then load like any CLIP), mined negatives, a bootstrapped token table, DCAR prompts
# trained, resumed after kill -9 to the same bytes as an uninterrupted run, and used by dcar-embed; refusals
# (another backbone, a directory holding a checkpoint, changed options) and a corrupt image skipped.
source "$(dirname "$0")/lib.sh" "$@"
[ -x "$TOOLS/dcar-tune" ] || { echo "tune: skipped (dcar-tune not built)"; exit 0; }
/usr/bin/python3 -c "import numpy, PIL" 2>/dev/null || { echo "tune: skipped (no python3-numpy/pil)"; exit 0; }
export DCAR_VOCAB=${DCAR_TEST_VOCAB:?DCAR_TEST_VOCAB must name the CLIP vocabulary}
/usr/bin/python3 - <<'PY'
import json, os
import numpy as np
from PIL import Image
rng = np.random.default_rng(5)
colours = {"zorblat": (220, 40, 40), "quindle": (40, 40, 220), "mervish": (40, 200, 40)}
records = {}
for name, colour in colours.items():
    os.makedirs(f"img/{name}", exist_ok=True)
    for i in range(6):
        a = np.clip(np.array(colour) + rng.normal(0, 30, (36, 44, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(a).save(f"img/{name}/{i}.jpg")
        records[f"{name}_{i}"] = {"file_name": f"{i}.jpg", "class_name": name, "file_path": f"img/{name}/{i}.jpg",
                                  "positive": f"This is a {name}. It looks {('dark', 'bright', 'plain')[i % 3]}.", "negative": []}
json.dump(records, open("train.json", "w"), indent=1)
PY
SIZE=image=32,patch=8,width=64,layers=2,text-width=64,text-layers=2,embed=32,context=32
common=(--layout as-is --image-root "$T" --threads 1 --quiet)

# full: a CLIP from scratch, saved in OpenAI's layout, loadable by every tool.
expect_status 0 dcar-tune --method full --init-size "$SIZE" -o full --epochs 2 --batch 6 "${common[@]}" train.json
[ -f full/clip.safetensors ] || fail "no full/clip.safetensors"
expect_status 0 dcar-embed -m full/clip.safetensors --text --manifest train.json --quiet -o zs.dcs
[ "$(dcar-cat -c zs.dcs)" = 18 ] || fail "zero-shot captions"
M=full/clip.safetensors

# --warmup-steps: full's linear warm-up over 2 steps instead of its first epoch (3 steps of 6 images here). The
# step log may go into -o's directory, which does not exist yet.
expect_status 0 dcar-tune --method full --init-size "$SIZE" -o warm --epochs 1 --batch 6 --warmup-steps 2 \
  --step-log warm/steps.jsonl "${common[@]}" train.json
/usr/bin/python3 - <<'PY' || fail "--warmup-steps: $(cat warm/steps.jsonl)"
import json
lr = [json.loads(line)["lr"] for line in open("warm/steps.jsonl")]
assert len(lr) == 3 and abs(lr[0] - 0.00025) < 1e-12 and abs(lr[1] - 0.0005) < 1e-12, lr
PY
expect_status 2 dcar-tune --method full --init-size "$SIZE" -o warm2 --warmup-steps 2 --warmup-epochs 1 "${common[@]}" train.json
grep -q "exclude each other" "$T/err" || fail "--warmup-steps with --warmup-epochs: $(cat "$T/err")"
# A step log that cannot be written stops the run before the images are decoded (it says so, not "training on").
expect_status 1 dcar-tune --method full --init-size "$SIZE" -o nolog --epochs 1 --batch 6 --step-log no/such/dir/steps.jsonl \
  --layout as-is --image-root "$T" --threads 1 train.json
grep -q "no/such/dir/steps.jsonl: cannot write the step log" "$T/err" && ! grep -q "training on" "$T/err" \
  || fail "unwritable step log: $(cat "$T/err")"

# Idle OpenMP threads sleep while OpenBLAS works (docs/BENCHMARKS.md): dcar-tune runs itself again with
# OMP_WAIT_POLICY=PASSIVE when the variable is unset, and keeps the user's value when it is set.
tune_log() { dcar-tune --method full --init-size "$SIZE" -o "$1" --epochs 1 --batch 6 --layout as-is --image-root "$T" --threads 1 train.json; }
expect_status 0 env -u OMP_WAIT_POLICY bash -c "$(declare -f tune_log); SIZE=$SIZE T=$T tune_log waits1"
grep -q "on cpu in fp32, OMP_WAIT_POLICY PASSIVE" "$T/err" || fail "unset OMP_WAIT_POLICY: $(cat "$T/err")"
expect_status 0 env OMP_WAIT_POLICY=active bash -c "$(declare -f tune_log); SIZE=$SIZE T=$T tune_log waits2"
grep -q "OMP_WAIT_POLICY active" "$T/err" || fail "OMP_WAIT_POLICY=active: $(cat "$T/err")"

# negatives, the token table, and --explain.
dcar-mine-negatives --quiet --layout as-is --image-root "$T" -o mined.jsonl train.json
expect_status 0 dcar-weigh -m $M -o table.safetensors "${common[@]}" train.json

# demo/export_backbone.py: fp16, and exactly the token rows pretraining never updated set to zero. The rows it
# keeps are the captions' tokens (their ids from dcar-weigh --explain) and SOT/EOT; the export embeds the
# captions as the fp32 model does, to fp16 precision.
last_state=$(ls full/state-epoch-*.safetensors | tail -1)
/usr/bin/python3 "$SRC/demo/export_backbone.py" $M "$last_state" export.safetensors > export.log || fail "export_backbone.py"
for c in $(seq 0 5); do
  for name in zorblat quindle mervish; do
    dcar-weigh --explain "This is a $name. It looks $(echo dark bright plain | cut -d' ' -f$((c % 3 + 1)))." --table table.safetensors | tail -n +2 | cut -f3
  done
done | sort -u > caption_ids.txt
[ -s caption_ids.txt ] || fail "no token ids from dcar-weigh --explain"
expect_status 0 dcar-embed -m export.safetensors --text --manifest train.json --quiet -o zs16.dcs
dcar-cat -F npy -o zs16.npy zs16.dcs
dcar-cat -F npy -o zs32.npy zs.dcs
/usr/bin/python3 - <<'PY' || fail "export_backbone.py: $(cat export.log)"
import json, struct
import numpy as np
with open("export.safetensors", "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    data = f.read()
entry = header["token_embedding.weight"]
assert all(e["dtype"] == "F16" for k, e in header.items() if k != "__metadata__")
begin, end = entry["data_offsets"]
rows = np.frombuffer(data[begin:end], dtype=np.float16).reshape(entry["shape"])
kept = set(np.flatnonzero(np.abs(rows).sum(axis=1) > 0))
ids = {int(line) for line in open("caption_ids.txt")}
assert ids <= kept, sorted(ids - kept)
assert kept <= ids | {49406, 49407, 0}, sorted(kept - ids)
a, b = np.load("zs16.npy"), np.load("zs32.npy")
assert np.min(np.sum(a * b, axis=1)) > 0.99, np.min(np.sum(a * b, axis=1))
PY

expect_status 0 dcar-weigh --explain "This is a zorblat. It looks dark." --table table.safetensors
[ "$(head -1 out)" = "$(printf 'position\ttoken\tid\ttable\tweight')" ] || fail "explain header: $(head -1 out)"
[ "$(wc -l < out)" = 12 ] || fail "explain rows: $(cat out)"
expect_status 0 dcar-weigh --explain "a dark zorblat" -m $M --image img/zorblat/0.jpg
awk -F'\t' 'NR > 1 && ($5 < 0.5 || $5 > 2) { bad = 1 } END { exit bad }' out || fail "pair weights outside [0.5, 2]: $(cat out)"

# dcar prompts: an uninterrupted run, and one killed after its first checkpoint and resumed.
tune=(dcar-tune --method dcar -m $M --prompt-depth 2 --epochs 4 --batch 6 --lr 0.01 --weight-table table.safetensors "${common[@]}")
expect_status 0 "${tune[@]}" -o whole mined.jsonl
"${tune[@]}" -o parts --step-log steps.jsonl mined.jsonl &
pid=$!
for _ in $(seq 600); do [ -f parts/checkpoint.json ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[ -f parts/checkpoint.json ] || fail "no checkpoint before the kill"
expect_status 2 "${tune[@]}" -o parts mined.jsonl
grep -q "holds a checkpoint already: add --resume" err || fail "$(cat err)"
expect_status 2 "${tune[@]}" -o parts --resume --seed 2 mined.jsonl
grep -q "was trained with seed = 1 (--seed), this run has 2" err || fail "$(cat err)"
expect_status 2 "${tune[@]}" -o parts --resume --dtr none mined.jsonl  # the error names the flag the user types
grep -q 'was trained with dtr_train = "pair" (--dtr), this run has "none"' err || fail "$(cat err)"
# Steps of the cut epoch that the kill left in the step log, and a torn last line, go when the run resumes.
printf '{"epoch":9,"step":999,"lr":0.1,"loss":1.0}\n{"epoch":9,"st' >> steps.jsonl
expect_status 0 "${tune[@]}" -o parts --resume --step-log steps.jsonl mined.jsonl
/usr/bin/python3 - <<'PY' || fail "step log after the resume: $(cat steps.jsonl)"
import json
steps = [json.loads(line)["step"] for line in open("steps.jsonl")]
assert steps == list(range(1, len(steps) + 1)), steps
assert len(steps) == json.load(open("parts/checkpoint.json"))["step"], (len(steps), steps)
PY
cmp whole/state-epoch-0004.safetensors parts/state-epoch-0004.safetensors || fail "resumed run differs from the uninterrupted one"
[ "$(ls parts | grep -c '^state-epoch')" = 1 ] || fail "old epoch states left: $(ls parts)"
expect_status 0 "${tune[@]}" -o parts --resume mined.jsonl   # finished: nothing to do

# dcar-embed with the prompts: both sides carry the prompts' id; another backbone is refused.
expect_status 0 dcar-embed -m $M --prompts whole --quiet --manifest train.json --layout as-is --image-root "$T" -o img.dcs
expect_status 0 dcar-embed -m $M --prompts whole --quiet --text --manifest train.json -o txt.dcs
grep -q '"model": "clip-[0-9a-f]*+prompts-[0-9a-f]*"' <(dcar-cat --header img.dcs) || fail "image stream lacks the prompts id"
[ "$(dcar-cat --header img.dcs | grep '"model"')" = "$(dcar-cat --header txt.dcs | grep '"model"')" ] || fail "image and text ids differ"
cmp -s <(dcar-cat txt.dcs | head -c 2000) <(dcar-cat zs.dcs | head -c 2000) && fail "prompts changed nothing"
expect_status 0 dcar-score --images img.dcs --texts txt.dcs --quiet -o score.json
dcar-tune --method full --init-size "$SIZE" -o other --epochs 1 --batch 6 --seed 9 "${common[@]}" train.json
expect_status 1 dcar-embed --quiet -m other/clip.safetensors --prompts whole --text --manifest train.json -o x.dcs
expect_err_line "was trained on backbone"
expect_status 2 dcar-embed -m $M --prompts full --text --manifest train.json -o x.dcs
grep -q "holds a whole model (--method full), not prompts" err || fail "$(cat err)"
# A state file whose prompt has the wrong shape: the error names the file and the tensor.
cp -r whole broken
/usr/bin/python3 - broken/state-epoch-0004.safetensors <<'PY'
import json, struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    data = f.read()
blob, offset = b"", 0
for name, entry in sorted(((n, e) for n, e in header.items() if n != "__metadata__"), key=lambda x: x[1]["data_offsets"][0]):
    begin, end = entry["data_offsets"]
    raw = data[begin:end]
    if name == "prompt.text.0":  # one row fewer
        raw = raw[: len(raw) - len(raw) // entry["shape"][0]]
        entry["shape"][0] -= 1
    entry["data_offsets"] = [offset, offset + len(raw)]
    blob += raw
    offset += len(raw)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + blob)
# A checksum that fits the new file, so that the shape check is what refuses it.
h = 1469598103934665603  # the basis core/fnv.hpp uses
for byte in open(path, "rb").read():
    h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
checkpoint = json.load(open("broken/checkpoint.json"))
checkpoint["state_fnv1a"] = f"{h:016x}"
json.dump(checkpoint, open("broken/checkpoint.json", "w"))
PY
dcar-embed -m $M --prompts broken --quiet --text --manifest train.json -o x.dcs 2> err && fail "a mis-shaped prompt loaded"
grep -q "broken/state-epoch-0004.safetensors: tensor prompt.text.0 has shape" err || fail "mis-shaped prompt: $(cat err)"
# One flipped byte in a state file is caught by its checksum (read_checkpoint, which dcar-embed, dcar-weigh and
# dcar-tune --resume share).
cp -r whole flipped
size=$(stat -c %s flipped/state-epoch-0004.safetensors)
printf '\x55' | dd of=flipped/state-epoch-0004.safetensors bs=1 seek=$((size - 7)) conv=notrunc status=none
dcar-embed -m $M --prompts flipped --quiet --text --manifest train.json -o x.dcs 2> err && fail "a changed state file loaded"
grep -q "flipped/state-epoch-0004.safetensors: checksum [0-9a-f]* differs from [0-9a-f]* in checkpoint.json" err || fail "flipped byte: $(cat err)"
grep -q '"state_fnv1a"' whole/checkpoint.json || fail "no state checksum in checkpoint.json"
grep -q '"model_fnv1a"' full/checkpoint.json || fail "no model checksum in a full checkpoint"

# A corrupt image: reported and left out by dcar-tune (exit 0) and dcar-weigh (exit 3).
echo "not a jpeg" > img/zorblat/5.jpg
expect_status 0 dcar-tune --method coop -m $M -o coop --epochs 1 --batch 6 --threads 1 --layout as-is --image-root "$T" train.json
grep -q "skipped image .*zorblat/5.jpg" err || fail "corrupt image not reported: $(cat err)"
expect_status 3 dcar-weigh -m $M -o t2.safetensors "${common[@]}" train.json
expect_status 2 dcar-tune -m $M train.json
grep -q -- "-o DIR is required" err || fail "$(cat err)"
echo "tune: ok"
