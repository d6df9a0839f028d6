# DCAR on FDRD data with a CLIP checkpoint you supply (none ships with dcar, and none can be downloaded by it):
# zero-shot, CoOp, MaPLe and DCAR trained on the FDRD train file (16 shots per class) and scored on the test
# file, through the same targets as the demo (demo/pipeline.mk). Caltech-101 by default, with the images in
# their original layout:
#   make -f examples/fdrd.mk MODEL=ViT-B-32.pt DATA=/path/to/data [BUILD=build] [DATASET=caltech101] [SEED=1]
# Other data sets: DATASET=dtd|ucf101|cars with IMAGES= their CoOp image folder (the FDRD path rules of
# man dcar-embed, --layout). ViT-B/32 on 2 CPU cores takes hours per method; use a GPU machine (--device auto).
MODEL ?=
DATA ?= data
DATASET ?= caltech101
IMAGES ?= $(DATA)/$(DATASET)
BUILD ?= build
OUT ?= fdrd-out/$(DATASET)
SEED ?= 1
EPOCHS ?= 20
METHODS ?= zeroshot coop maple dcar
THREADS ?= $(shell nproc)
TUNE_OPTIONS ?=

ifeq ($(MODEL),)
$(error give MODEL=path/to/a CLIP checkpoint (OpenAI .pt, torch.save state dict, or safetensors))
endif
DCAR_SOURCE := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BIN := $(abspath $(BUILD))
M := $(MODEL)
RUN := $(OUT)/seed$(SEED)
TRAIN := $(DATA)/fdrd/$(DATASET)_train.json
TEST := $(DATA)/fdrd/$(DATASET)_test.json
IMAGE_ROOT := $(IMAGES)
LAYOUT := $(DATASET)
export DCAR_VOCAB ?= $(BIN)/share/dcar/bpe_simple_vocab_16e6.txt

.PHONY: all
.DELETE_ON_ERROR:
all: $(RUN)/results.tsv
	@printf '\nRecall@K (%%) on %s, seed %s:\n' $(TEST) $(SEED)
	@expand -t 10 $(RUN)/results.tsv

include $(DCAR_SOURCE)/demo/pipeline.mk
