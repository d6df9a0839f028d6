# The train-and-retrieve workflow for one data set and one seed, included by demo/world.mk (the synthetic
# world) and examples/fdrd.mk (FDRD data): for every method in METHODS,
#   zero-shot:  dcar-embed test images and captions with the backbone as it is;
#   a prompt method (coop, vpt, maple, dcar): dcar-tune on the training pairs with their mined negatives
#               (dcar-mine-negatives) and, for dcar, the zero-shot token table (dcar-weigh), then dcar-embed
#               --prompts;
# then dcar-index (Flat) → dcar-query (text → image, top 10) → dcar-score (JSON), and one TSV table.
# Every step is a file target, so a re-run redoes only what is missing; training resumes a killed run.
# The includer sets: BIN (tool directory), M (CLIP weights), OUT (shared outputs), RUN (this seed's outputs),
# TRAIN and TEST (manifests), IMAGE_ROOT and LAYOUT (how their image paths resolve), SEED, EPOCHS, METHODS,
# THREADS, and may add TUNE_OPTIONS.
COMMON := --threads $(THREADS)
READ := --layout $(LAYOUT) --image-root $(IMAGE_ROOT)

$(OUT)/mined.jsonl: $(TRAIN)
	@mkdir -p $(@D)
	$(BIN)/dcar-mine-negatives $(READ) -o $@ $(TRAIN)

$(OUT)/table.safetensors: $(M) $(TRAIN)
	@echo "== token weights, bootstrapped zero-shot (dcar-weigh)"
	$(BIN)/dcar-weigh -m $(M) $(READ) $(COMMON) -o $@ $(TRAIN)

$(RUN)/zeroshot/img.dcs: $(M) $(TEST)
	@mkdir -p $(@D)
	$(BIN)/dcar-embed -m $(M) $(COMMON) --quiet --manifest $(READ) -o $@ $(TEST)
$(RUN)/zeroshot/txt.dcs: $(M) $(TEST)
	@mkdir -p $(@D)
	$(BIN)/dcar-embed -m $(M) $(COMMON) --quiet --manifest --text -o $@ $(TEST)

$(RUN)/%/ckpt/checkpoint.json: $(M) $(OUT)/mined.jsonl $(OUT)/table.safetensors
	@echo "== $* (dcar-tune --method $*, seed $(SEED))"
	$(BIN)/dcar-tune --method $* -m $(M) --epochs $(EPOCHS) --seed $(SEED) $(COMMON) $(TUNE_OPTIONS) --resume \
	  -o $(RUN)/$*/ckpt $(if $(filter dcar,$*),--weight-table $(OUT)/table.safetensors) $(OUT)/mined.jsonl
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

.PRECIOUS: $(RUN)/%/ckpt/checkpoint.json $(RUN)/%/img.dcs $(RUN)/%/txt.dcs $(RUN)/%/img.dci $(RUN)/%/t2i.tsv
