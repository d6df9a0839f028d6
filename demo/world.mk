# The main job on the embedded default (issue 5): the synthetic fine-grained world of docs/WORLD.md, a small
# CLIP pretrained from scratch on its base classes (dcar-tune --method full, in OpenAI's layout), then
# zero-shot, CoOp, MaPLe and DCAR on its novel classes through the real tools (demo/pipeline.mk), and one table
# of R@1/5/10 in both directions. A re-run redoes only what is missing.
# Usage: make -f demo/world.mk BUILD=build OUT=demo-out [SEED=1] [EPOCHS=8] [METHODS="zeroshot coop maple dcar"]
BUILD ?= build
OUT ?= demo-out
SEED ?= 1
WORLD_SEED ?= 1
# WORLD_VERSION selects the world (docs/WORLD.md) and its backbone recipe. The demo stays on world v1 until
# v2's backbone is frozen and committed (docs/RESULTS.md, "World v2"); WORLD_VERSION=2 runs v2 with a backbone
# pretrained in the run (pilot D's recipe below: 1,521 steps at about a second a step on 2 cores, docs/BENCHMARKS.md §8).
WORLD_VERSION ?= 1
WORLD_OPTIONS ?=
EPOCHS ?= 8
ifeq ($(WORLD_VERSION),1)
PRETRAIN_EPOCHS ?= 4
PRETRAIN_OPTIONS ?=
BACKBONE ?= image=64,patch=8,width=192,layers=4,text-width=192,text-layers=4,embed=128
else
PRETRAIN_EPOCHS ?= 9
PRETRAIN_OPTIONS ?=
BACKBONE ?= image=96,patch=12,width=192,layers=4,text-width=192,text-layers=4,embed=128,stem=2
endif
# images a pretraining batch
PRETRAIN_BATCH ?= 64
METHODS ?= zeroshot coop maple dcar
THREADS ?= $(shell nproc)

DCAR_SOURCE := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BIN := $(abspath $(BUILD))
W := $(OUT)/world
# M may be given, to run another world's captions (e.g. WORLD_OPTIONS="--filler 0") on a backbone made before.
M ?= $(OUT)/backbone/clip.safetensors
RUN := $(OUT)/seed$(SEED)
TRAIN := $(W)/train.json
TEST := $(W)/test.json
IMAGE_ROOT := $(W)
LAYOUT := as-is
export DCAR_VOCAB ?= $(BIN)/share/dcar/bpe_simple_vocab_16e6.txt

.PHONY: all
.DELETE_ON_ERROR:
all: $(RUN)/results.tsv $(RUN)/dcar/recall.svg $(RUN)/summary.json
	@printf '\nRecall@K (%%) on the novel-class test split of the world, seed %s:\n' $(SEED)
	@expand -t 10 $(RUN)/results.tsv
	@printf '\nGates (docs/RESULTS.md; null: not measured in this run) in %s:\n' $(RUN)/summary.json
	@/usr/bin/python3 $(DCAR_SOURCE)/demo/summary.py --verdicts $(RUN)/summary.json

# dcar-world for this world version and seed; WORLD adds the options of the world the methods run on.
DCAR_WORLD := $(BIN)/dcar-world --world-version $(WORLD_VERSION) --seed $(WORLD_SEED) --threads $(THREADS)
WORLD := $(DCAR_WORLD) $(WORLD_OPTIONS)

# The backbone. World v1's is pretrained in the run (4.5 minutes). A world v2 backbone committed for this world
# (demo/backbone/, docs/RESULTS.md "World v2") is used as it is; PRETRAIN=1, or no committed file for this
# WORLD_VERSION and WORLD_SEED, pretrains one here with the same recipe (`make -f demo/world.mk
# WORLD_VERSION=2 PRETRAIN=1 OUT=DIR backbone-check` also compares it with the committed one).
COMMITTED_BACKBONE := $(DCAR_SOURCE)/demo/backbone/world$(WORLD_VERSION)-seed$(WORLD_SEED).safetensors.zst
USE_COMMITTED := $(if $(PRETRAIN),,$(wildcard $(COMMITTED_BACKBONE)))
PRETRAIN_RUN := $(OUT)/backbone/run
# With a committed backbone the pretraining images are not needed, and they are most of a world's time
# (pretraining renders them first: a rerun of dcar-world adds them and keeps the rest).
$(W)/world.json:
	@echo "== the world (docs/WORLD.md)"
	$(WORLD) $(if $(USE_COMMITTED),--no-pretrain-images) $(W)
$(TRAIN) $(TEST) $(W)/pretrain.json: $(W)/world.json

ifneq ($(USE_COMMITTED),)
$(M): $(COMMITTED_BACKBONE) | $(W)/world.json
	@echo "== the committed backbone ($(notdir $<))"
	@mkdir -p $(@D)
	zstd -d -q -f -o $@ $<
else ifeq ($(WORLD_VERSION),1)
$(M): | $(W)/world.json
	@echo "== pretraining the backbone (dcar-tune --method full)"
	$(BIN)/dcar-tune --method full --init-size $(BACKBONE) --epochs $(PRETRAIN_EPOCHS) --batch $(PRETRAIN_BATCH) $(PRETRAIN_OPTIONS) --threads $(THREADS) \
	  --layout as-is --image-root $(W) --resume -o $(OUT)/backbone $(W)/pretrain.json
else
# World v2: pretrained into backbone/run (a killed run resumes), then exported as the committed file is made
# (demo/export_backbone.py: fp16, untrained token rows zeroed); the step log is kept beside it.
# A curriculum (docs/RESULTS.md, pilots Q to S): STAGE1_WORLD_OPTIONS, the complete dcar-world options of a first
# stage's captions (e.g. WORLD_OPTIONS with --pretrain-silhouette 1), pretrains STAGE1_EPOCHS epochs from scratch on
# the world's own images (a hard-linked copy whose manifests dcar-world replaces, atomically), with
# STAGE1_OPTIONS for dcar-tune and STAGE1_BATCH images a batch; the stage above starts from its fp32 weights with
# its own optimiser, warm-up and PRETRAIN_BATCH.
STAGE1_WORLD_OPTIONS ?=
STAGE1_EPOCHS ?= 2
STAGE1_BATCH ?= 64
STAGE1_OPTIONS ?= $(PRETRAIN_OPTIONS)
STAGE1_RUN := $(OUT)/backbone/stage1
STAGE1_WORLD := $(OUT)/world-stage1
PRETRAIN_START := $(if $(STAGE1_WORLD_OPTIONS),-m $(STAGE1_RUN)/clip.safetensors,--init-size $(BACKBONE))
$(STAGE1_RUN)/clip.safetensors: | $(W)/world.json
	@echo "== pretraining, stage 1 (dcar-tune --method full, $(STAGE1_EPOCHS) epochs, dcar-world $(STAGE1_WORLD_OPTIONS))"
	$(WORLD) $(W)
	@mkdir -p $(STAGE1_WORLD)
	[ -f $(STAGE1_WORLD)/world.json ] || cp -al $(W)/. $(STAGE1_WORLD)/
	$(DCAR_WORLD) $(STAGE1_WORLD_OPTIONS) --force $(STAGE1_WORLD)
	$(BIN)/dcar-tune --method full --init-size $(BACKBONE) --epochs $(STAGE1_EPOCHS) --batch $(STAGE1_BATCH) $(STAGE1_OPTIONS) --threads $(THREADS) \
	  --layout as-is --image-root $(STAGE1_WORLD) --resume --step-log $(STAGE1_RUN)/steps.jsonl -o $(STAGE1_RUN) \
	  $(STAGE1_WORLD)/pretrain.json
$(M): | $(W)/world.json $(if $(STAGE1_WORLD_OPTIONS),$(STAGE1_RUN)/clip.safetensors)
	@echo "== pretraining the backbone (dcar-tune --method full, $(PRETRAIN_EPOCHS) epochs)"
	$(WORLD) $(W)
	$(BIN)/dcar-tune --method full $(PRETRAIN_START) --epochs $(PRETRAIN_EPOCHS) --batch $(PRETRAIN_BATCH) $(PRETRAIN_OPTIONS) --threads $(THREADS) \
	  --layout as-is --image-root $(W) --resume --step-log $(PRETRAIN_RUN)/steps.jsonl -o $(PRETRAIN_RUN) $(W)/pretrain.json
	/usr/bin/python3 $(DCAR_SOURCE)/demo/export_backbone.py $(PRETRAIN_RUN)/clip.safetensors \
	  $$(ls $(PRETRAIN_RUN)/state-epoch-*.safetensors | tail -1) $@
endif

# A pretrained-here backbone against the committed one: the gate probes and zero-shot Recall@K within 1 point.
.PHONY: backbone-check
backbone-check: $(RUN)/summary.json
	/usr/bin/python3 $(DCAR_SOURCE)/demo/compare_backbones.py $(basename $(basename $(COMMITTED_BACKBONE))).summary.json $<

# Which of the world's attributes each method's embeddings encode (demo/probe.py; not part of `all`):
#   make -f demo/world.mk probe
.PHONY: probe
probe: $(RUN)/probe.tsv
	@expand -t 14 $<
$(RUN)/%.npy: $(RUN)/%.dcs
	$(BIN)/dcar-cat --quiet -F npy -o $@ $<
$(RUN)/probe.tsv: $(foreach m,$(METHODS),$(RUN)/$(m)/img.npy $(RUN)/$(m)/txt.npy)
	/usr/bin/python3 $(DCAR_SOURCE)/demo/probe.py $(TEST) \
	  $(foreach m,$(METHODS),"$(m) images=$(RUN)/$(m)/img.npy") $(foreach m,$(METHODS),"$(m) captions=$(RUN)/$(m)/txt.npy") > $@

# The gates, none of which runs a prompt method (demo/summary.py): what the zero-shot backbone reads (G1), the
# oracle's ceiling (G2), zero-shot with captions cut to the class name and attribute words, each value with its
# noun ("three points", "star": G3); G4 compares coop with zero-shot. summary.json holds them and every method's
# Recall@K.
LEXICON := $(DCAR_SOURCE)/demo/world-lexicon.tsv
NOUNS := $(DCAR_SOURCE)/demo/world-nouns.txt
CLASS_ATTRIBUTES := parts,rim,mark_colour,mark_shape
$(OUT)/gates/oracle.tsv: $(TEST)
	@mkdir -p $(@D)
	/usr/bin/python3 $(DCAR_SOURCE)/demo/oracle.py $(TEST) > $@
$(OUT)/gates/test-cut.json: $(TEST) $(LEXICON) $(NOUNS)
	@mkdir -p $(@D)
	/usr/bin/python3 $(DCAR_SOURCE)/demo/cut_captions.py $(TEST) $(LEXICON) $(NOUNS) > $@
$(RUN)/zeroshot-cut/img.dcs: $(RUN)/zeroshot/img.dcs
	@mkdir -p $(@D)
	cp $< $@
$(RUN)/zeroshot-cut/txt.dcs: $(M) $(OUT)/gates/test-cut.json
	@mkdir -p $(@D)
	$(BIN)/dcar-embed -m $(M) --threads $(THREADS) --quiet --manifest --text -o $@ $(OUT)/gates/test-cut.json
# The class token before the projection: the test images embedded with a copy of the backbone whose
# projection is the identity (demo/class_token.py).
$(OUT)/gates/class-token.safetensors: $(M)
	@mkdir -p $(@D)
	/usr/bin/python3 $(DCAR_SOURCE)/demo/class_token.py $< $@
$(RUN)/zeroshot-token/img.dcs: $(OUT)/gates/class-token.safetensors $(TEST)
	@mkdir -p $(@D)
	$(BIN)/dcar-embed -m $< $(COMMON) --quiet --manifest $(READ) -o $@ $(TEST)
$(RUN)/gates-probe.tsv: $(RUN)/zeroshot/img.npy $(RUN)/zeroshot/txt.npy $(RUN)/zeroshot-token/img.npy
	/usr/bin/python3 $(DCAR_SOURCE)/demo/probe.py $(TEST) images=$(RUN)/zeroshot/img.npy captions=$(RUN)/zeroshot/txt.npy \
	  class-token=$(RUN)/zeroshot-token/img.npy > $@
$(RUN)/summary.json: $(OUT)/gates/oracle.tsv $(RUN)/gates-probe.tsv $(RUN)/zeroshot-cut/score.json \
                     $(foreach m,$(METHODS),$(RUN)/$(m)/score.json)
	/usr/bin/python3 $(DCAR_SOURCE)/demo/summary.py --oracle $(OUT)/gates/oracle.tsv --probe $(RUN)/gates-probe.tsv \
	  --class-attributes $(CLASS_ATTRIBUTES) --cut $(RUN)/zeroshot-cut/score.json \
	  $(foreach m,$(METHODS),$(m)=$(RUN)/$(m)/score.json) > $@

include $(DCAR_SOURCE)/demo/pipeline.mk
