# dcar-embed --webdataset: tar shards (plain and gzip) read through libarchive give the same embeddings as the
# same images read as files, ids from the samples' keys and labels from their .cls members; captions from
# .txt members; bad members, a shard cut short, a file that is not a tar and a sample without an image are
# reported and skipped (exit 3) while everything else is embedded; shards of a run and --resume go by tar file.
source "$(dirname "$0")/lib.sh" "$@"
[ -x "$TOOLS/dcar-embed" ] || { echo "webdataset: skipped (dcar-embed not built)"; exit 0; }
/usr/bin/python3 -c "import torch, PIL" 2>/dev/null || { echo "webdataset: skipped (no python3-torch/PIL)"; exit 0; }
/usr/bin/python3 "$SRC/tests/cli/tiny_clip.py" model tiny.safetensors
# 3 shards of 8 samples (jpg or png, a caption, a label), the same images as files, and a list of them.
/usr/bin/python3 - <<'PY'
import io, os, tarfile, gzip, numpy as np
from PIL import Image
rng = np.random.default_rng(5)
os.makedirs("files", exist_ok=True)
def add(t, name, data):
    info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 0
    t.addfile(info, io.BytesIO(data))
with open("list.txt", "w") as lst, open("captions.tsv", "w") as cap:
    for s in range(3):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as t:
            for i in range(8):
                key = f"s{s}/{s * 8 + i:06d}"
                ext = "png" if i % 3 == 0 else "jpg"
                w, h = int(rng.integers(30, 200)), int(rng.integers(30, 200))
                a = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
                b = io.BytesIO(); Image.fromarray(a).save(b, format="PNG" if ext == "png" else "JPEG"); data = b.getvalue()
                path = f"files/{s * 8 + i:06d}.{ext}"
                open(path, "wb").write(data)
                lst.write(path + "\n")
                add(t, f"{key}.{ext}", data)
                caption = f"picture number {s * 8 + i} of shard {s}"
                add(t, f"{key}.txt", (caption + "\n").encode())
                cap.write(f"{key}\t{caption}\n")
                add(t, f"{key}.cls", f"{i % 2}\n".encode())
        data = raw.getvalue()
        if s == 1: open("shard-1.tar.gz", "wb").write(gzip.compress(data, mtime=0))
        else: open(f"shard-{s}.tar", "wb").write(data)
PY
SHARDS="shard-0.tar shard-1.tar.gz shard-2.tar"

# The same numbers as the files, row for row; ids are the keys, labels the .cls members.
dcar-embed -q -m tiny.safetensors -o files.dcs list.txt
dcar-embed -q -m tiny.safetensors --webdataset -o wds.dcs $SHARDS
[ "$(dcar-cat -c wds.dcs)" = 24 ] || fail "expected 24 images from the shards"
[ "$(dcar-cat --ids-only wds.dcs | head -1)" = "s0/000000	0" ] || fail "ids/labels: $(dcar-cat --ids-only wds.dcs | head -1)"
[ "$(dcar-cat --ids-only wds.dcs | sed -n 9p)" = "s1/000008	0" ] || fail "the gzip shard's ids: $(dcar-cat --ids-only wds.dcs | sed -n 9p)"
dcar-cat -F npy -o files.npy files.dcs
dcar-cat -F npy -o wds.npy wds.dcs
/usr/bin/python3 -c "
import numpy as np
a, b = np.load('files.npy'), np.load('wds.npy')
assert a.shape == b.shape == (24, a.shape[1]) and np.array_equal(a, b), 'the shards embed otherwise than the files'
" || fail "webdataset embeddings differ from the same images read as files"
# --wds-label-key '': no labels.
dcar-embed -q -m tiny.safetensors --webdataset --wds-label-key '' -o nolabel.dcs shard-0.tar
[ "$(dcar-cat --ids-only nolabel.dcs | head -1)" = "s0/000000	" ] || fail "labels without a label key: $(dcar-cat --ids-only nolabel.dcs | head -1)"

# Captions: the .txt members, the same numbers as the same captions given as lines.
dcar-embed -q -m tiny.safetensors --webdataset --text -o wds-text.dcs $SHARDS
dcar-embed -q -m tiny.safetensors --text -o lines-text.dcs captions.tsv
[ "$(dcar-cat -c wds-text.dcs)" = 24 ] || fail "expected 24 captions"
dcar-cat -F npy -o a.npy wds-text.dcs
dcar-cat -F npy -o b.npy lines-text.dcs
cmp <(dcar-cat --ids-only wds-text.dcs | cut -f1) <(cut -f1 captions.tsv) || fail "caption ids"
/usr/bin/python3 -c "
import numpy as np
assert np.array_equal(np.load('a.npy'), np.load('b.npy'))" || fail "captions from the shards embed otherwise"

# Run shards go by tar file: 0/2 has shard files 0 and 2, 1/2 has shard file 1; together the whole.
dcar-embed -q -m tiny.safetensors --webdataset --shard 0/2 -o half0.dcs $SHARDS
dcar-embed -q -m tiny.safetensors --webdataset --shard 1/2 -o half1.dcs $SHARDS
[ "$(dcar-cat --ids-only half0.dcs | cut -f1 | cut -d/ -f1 | sort -u | tr '\n' ' ')" = "s0 s2 " ] || fail "shard 0/2 holds $(dcar-cat --ids-only half0.dcs | cut -f1 | cut -d/ -f1 | sort -u)"
[ "$(dcar-cat --ids-only half1.dcs | cut -f1 | cut -d/ -f1 | sort -u)" = "s1" ] || fail "shard 1/2"
cmp <(dcar-cat --ids-only half0.dcs half1.dcs | sort) <(dcar-cat --ids-only wds.dcs | sort) || fail "the run's shards do not add up"

# --resume: one part per tar file, numbered as the file; a lost part is redone, the rest kept.
dcar-embed -q -m tiny.safetensors --webdataset --resume -o parts $SHARDS
ls parts/part-00000-00000[0-2].dcs > /dev/null || fail "expected a part per tar file: $(ls parts)"
rm parts/part-00000-000001.dcs parts/part-00000-000001.done
dcar-embed -m tiny.safetensors --webdataset --resume -o parts $SHARDS 2> resume.err
grep -q '16 already done' resume.err || fail "resume did not keep the done parts: $(cat resume.err)"
cmp <(cat parts/part-00000-*.dcs | dcar-cat -) <(dcar-cat wds.dcs) || fail "resumed parts differ from one run"

# Bad input: a member that is not an image, a sample without an image, a duplicate key, a shard cut short,
# a file that is not a tar. Each is one line naming the shard and member; everything else is embedded.
/usr/bin/python3 - <<'PY'
import io, tarfile
def tar(members):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for name, data in members:
            info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return raw.getvalue()
good = open("files/000001.jpg", "rb").read()
open("bad.tar", "wb").write(tar([("k1.jpg", good), ("k1.txt", b"one"), ("k2.jpg", b"not an image"), ("k3.txt", b"no image"),
                                 ("k4.jpg", good), ("k1.png", good)]))
cut = tar([("c1.jpg", good), ("c2.jpg", good), ("c3.jpg", good)])
open("cut.tar", "wb").write(cut[:512 + len(good) + 512 + 512 + 300])  # c1 whole, c2's data cut short
open("captions-only.tar", "wb").write(tar([("t1.txt", b"only a caption"), ("t2.txt", b"another")]))
PY
echo "not a tar at all" > junk.tar
expect_status 3 dcar-embed -m tiny.safetensors --webdataset --rejects rej.tsv -o bad.dcs bad.tar cut.tar junk.tar shard-0.tar
[ "$(dcar-cat --ids-only bad.dcs | cut -f1 | tr '\n' ' ')" = "k1 k4 c1 s0/000000 s0/000001 s0/000002 s0/000003 s0/000004 s0/000005 s0/000006 s0/000007 " ] \
  || fail "embedded: $(dcar-cat --ids-only bad.dcs | cut -f1 | tr '\n' ' ')"
grep -q 'bad.tar:k2.jpg: .*cannot' err || fail "the member that is not an image was not reported"
grep -q 'bad.tar: 1 of 4 samples have no .jpg, .jpeg, .png, .webp member' err || fail "the sample without an image was not reported"
grep -q 'bad.tar:k1.png: key k1 appears again' err || fail "the duplicate key was not reported"
grep -q 'cut.tar.*c2.jpg' err || fail "the shard cut short was not reported: $(cat err)"
grep -q 'junk.tar: not a tar archive' err || fail "the file that is not a tar was not reported"
grep -q '^k2	bad.tar:k2.jpg	' rej.tsv || fail "rejects file: $(cat rej.tsv)"
grep -q '	junk.tar	not a tar archive' rej.tsv || fail "rejects file lacks the junk shard: $(cat rej.tsv)"
expect_status 1 dcar-embed -m tiny.safetensors --webdataset --on-error fail -o fail.dcs shard-0.tar bad.tar
[ ! -e fail.dcs ] || fail "a failed run left its output"
grep -q 'bad.tar:k1.png: key k1 appears again' err || fail "--on-error fail: $(cat err)"
# Nothing to embed: a clear error, no output.
expect_status 1 dcar-embed -m tiny.safetensors --webdataset -o none.dcs captions-only.tar
[ "$(tail -1 err)" = "dcar-embed: no sample in the 1 shard(s) has a .jpg, .jpeg, .png, .webp member" ] || fail "no images: $(cat err)"
[ ! -e none.dcs ] || fail "a failed run left its output"
expect_status 1 dcar-embed -m tiny.safetensors --webdataset -o none.dcs missing.tar
grep -q 'missing.tar: cannot open' err || fail "a missing shard: $(cat err)"
# Usage.
expect_status 2 dcar-embed -m tiny.safetensors -o x.dcs list.txt captions.tsv
grep -qF "one INPUT (several only with --webdataset)" err || fail "several inputs: $(cat err)"
expect_status 2 dcar-embed -m tiny.safetensors --webdataset --manifest -o x.dcs shard-0.tar
expect_status 2 dcar-embed -m tiny.safetensors --webdataset --wds-caption-key txt,json --text -o x.dcs shard-0.tar
grep -qF -- "--wds-caption-key takes one extension" err || fail "two caption keys: $(cat err)"
echo "webdataset: ok"
