#!/usr/bin/python3
"""Captions cut down to what DTR should weigh up (gate G3): the class name and the attribute words, nothing else.
  cut_captions.py MANIFEST LEXICON [NOUNS] > CUT.json
MANIFEST is FDRD JSON ("class_name", "positive" as a string or a list); LEXICON is the attribute lexicon of
dcar-mine-negatives --attribute-lexicon (GROUP<TAB>word|word per line, '#' comments). Every caption becomes
"This is a CLASS." followed by its lexicon words, in their order and case, joined by spaces ("This is a
zorblat. red cross top left"); everything else in the record is kept. NOUNS, one word per line ('#' comments),
are kept too: the nouns that the attribute values belong to ("three points", "double rim", "star"), without
which a value alone says less than the caption did. Zero-shot retrieval with the full captions against the same
with the cut ones tells whether filler dilutes the words that matter.
"""
import json
import re
import sys


def read_lexicon_groups(path):
    """Each lexicon word (lowercase) with the attribute group it belongs to."""
    group = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, values = line.rstrip("\n").split("\t")
                group.update((w.strip().lower(), name) for w in values.split("|"))
    return group


def read_lexicon(path):
    return set(read_lexicon_groups(path))


WORD = r"[A-Za-z0-9\x80-\U0010ffff]"  # word characters as dcar-mine-negatives matches them


def cut(caption, class_name, words):
    # The class name's own occurrences go first (whole words, any case, spaces or underscores between words).
    name = r"[ _]+".join(re.escape(w) for w in re.split(r"[ _]+", class_name.strip()) if w)
    if name:
        caption = re.sub(rf"(?<!{WORD}){name}(?!{WORD})", " ", caption, flags=re.IGNORECASE)
    kept = [w for w in re.findall(WORD + "+", caption) if w.lower() in words]
    return " ".join([f"This is a {class_name}."] + kept)


def read_nouns(path):
    with open(path) as f:
        return {line.strip().lower() for line in f if line.strip() and not line.startswith("#")}


def main():
    with open(sys.argv[1]) as f:
        items = json.load(f)
    words = read_lexicon(sys.argv[2])
    if len(sys.argv) == 4:
        words |= read_nouns(sys.argv[3])
    for record in items.values():
        positive = record["positive"]
        if isinstance(positive, list):
            record["positive"] = [cut(p, record["class_name"], words) for p in positive]
        else:
            record["positive"] = cut(positive, record["class_name"], words)
    json.dump(items, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main()
