# The train-and-retrieve workflow for one data set and one seed, included by demo/world.mk (the synthetic
# world) and examples/fdrd.mk (FDRD data): for every method in METHODS,
#   zero-shot:  dcar-embed test images and captions with the backbone as it is;
#   a prompt method (coop, vpt, maple, dcar): dcar-tune on the seed's shots with their mined negatives
#               (dcar-mine-negatives --shots) and, for dcar, the zero-shot token table of the same shots
#               (dcar-weigh), then dcar-embed --prompts;
# then dcar-index (Flat) → dcar-query (text → image, top 10) → dcar-score (JSON), and one TSV table.
# Every step is a file target, so a re-run redoes only what is missing; training resumes a killed run.
# The includer sets: BIN (tool directory), M (CLIP weights), OUT (shared outputs), RUN (this seed's outputs),
# TRAIN and TEST (manifests), IMAGE_ROOT and LAYOUT (how their image paths resolve), SEED, EPOCHS, METHODS,
# THREADS, and may add TUNE_OPTIONS, MINE_OPTIONS (dcar-mine-negatives), SHOTS (images per class, default 16)
# and VAL_FRACTION (below).
SHOTS ?= 16
COMMON := --threads $(THREADS)
READ := --layout $(LAYOUT) --image-root $(IMAGE_ROOT)

# Equal data: the seed's shots (SHOTS images per class) are the only training pairs any method sees, so
# DCAR's negatives and token table are drawn from them alone (dcar-tune draws the same shots for the seed).
# VAL_FRACTION (e.g. 0.1, for choosing a learning rate): that share of the pool is held out first, into
# $(RUN)/val.jsonl, which feeds no negative and no table, and every prompt method validates on it.
VAL_FRACTION ?=
HOLD_OUT := $(if $(VAL_FRACTION),--val-fraction $(VAL_FRACTION) --val-output $(RUN)/val.jsonl)
VALIDATE := $(if $(VAL_FRACTION),--val $(RUN)/val.jsonl)
$(RUN)/mined.jsonl: $(TRAIN)
	@mkdir -p $(@D)
	$(BIN)/dcar-mine-negatives $(READ) --shots $(SHOTS) --seed $(SEED) $(HOLD_OUT) $(MINE_OPTIONS) -o $@ $(TRAIN)

$(RUN)/table.safetensors: $(M) $(RUN)/mined.jsonl
	@echo "== token weights, bootstrapped zero-shot on the shots (dcar-weigh)"
	$(BIN)/dcar-weigh -m $(M) $(COMMON) -o $@ $(RUN)/mined.jsonl

$(RUN)/zeroshot/img.dcs: $(M) $(TEST)
	@mkdir -p $(@D)
	$(BIN)/dcar-embed -m $(M) $(COMMON) --quiet --manifest $(READ) -o $@ $(TEST)
$(RUN)/zeroshot/txt.dcs: $(M) $(TEST)
	@mkdir -p $(@D)
	$(BIN)/dcar-embed -m $(M) $(COMMON) --quiet --manifest --text -o $@ $(TEST)

$(RUN)/%/ckpt/checkpoint.json: $(M) $(RUN)/mined.jsonl $(RUN)/table.safetensors
	@echo "== $* (dcar-tune --method $*, seed $(SEED))"
	$(BIN)/dcar-tune --method $* -m $(M) --epochs $(EPOCHS) --seed $(SEED) --shots $(SHOTS) $(VALIDATE) $(COMMON) $(TUNE_OPTIONS) --resume \
	  -o $(RUN)/$*/ckpt $(if $(filter dcar,$*),--weight-table $(RUN)/table.safetensors) $(RUN)/mined.jsonl
$(RUN)/%/img.dcs: $(RUN)/%/ckpt/checkpoint.json
	$(BIN)/dcar-embed -m $(M) --prompts $(RUN)/$*/ckpt $(COMMON) --quiet --manifest $(READ) -o $@ $(TEST)
$(RUN)/%/txt.dcs: $(RUN)/%/ckpt/checkpoint.json
	$(BIN)/dcar-embed -m $(M) --prompts $(RUN)/$*/ckpt $(COMMON) --quiet --manifest --text -o $@ $(TEST)

$(RUN)/%/img.dci: $(RUN)/%/img.dcs
	$(BIN)/dcar-index build -f Flat --quiet -o $@ $<
$(RUN)/%/t2i.tsv: $(RUN)/%/img.dci $(RUN)/%/txt.dcs
	$(BIN)/dcar-query -i $< -k 10 --quiet -o $@ $(RUN)/$*/txt.dcs
$(RUN)/%/score.json: $(RUN)/%/img.dcs $(RUN)/%/txt.dcs $(RUN)/%/t2i.tsv
	$(BIN)/dcar-score --images $(RUN)/$*/img.dcs --texts $(RUN)/$*/txt.dcs --model $* --json --quiet -o $@
$(RUN)/%/recall.svg: $(RUN)/%/img.dcs $(RUN)/%/txt.dcs
	$(BIN)/dcar-score --images $(RUN)/$*/img.dcs --texts $(RUN)/$*/txt.dcs --model $* --quiet --plot $@ -o /dev/null

$(RUN)/results.tsv: $(foreach m,$(METHODS),$(RUN)/$(m)/score.json)
	@/usr/bin/python3 $(DCAR_SOURCE)/demo/results_table.py $^ > $@

.PRECIOUS: $(RUN)/mined.jsonl $(RUN)/table.safetensors $(RUN)/%/ckpt/checkpoint.json $(RUN)/%/img.dcs $(RUN)/%/txt.dcs $(RUN)/%/img.dci $(RUN)/%/t2i.tsv
